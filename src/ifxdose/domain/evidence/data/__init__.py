"""Evidence records as data (one TOML file per seed item); a package so the files ship with ifxdose."""
