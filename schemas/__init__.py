"""The event contract, the settings and the CSV formats: the bottom layer, importing nothing of pulse."""
