"""The support back office: integration health and company filters across all companies."""
