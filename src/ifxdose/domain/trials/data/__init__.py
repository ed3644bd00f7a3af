"""Data files of the trial replication: population, calibration setup and calibrated values."""
