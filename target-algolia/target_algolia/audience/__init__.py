"""Event, snapshot and change-data-capture records -> segment changes on the shared batch.

A record becomes one validated change or one reject with its reason; the
change is added to the writer's batch and nothing is written from here.
"""
