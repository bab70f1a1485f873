"""Dagster code location for the Meltano jobs and schedules in meltano.yml."""
