"""Workspace-wide pytest configuration: every test can ask for a running emulator."""

pytest_plugins = ["algolia_emulator.pytest_plugin"]
