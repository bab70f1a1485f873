"""Erasure streams: records that name profiles to delete, applied once the input has ended."""
