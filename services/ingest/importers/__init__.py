"""Platform export importers: CSV rows in, interaction events with deterministic ids out."""
