"""Static reports (PNG/SVG plots, one self-contained HTML file; no CDN assets)."""
