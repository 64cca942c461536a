"""The airline example's own code: its sample-data generator. Single-table projects have no such folder."""
