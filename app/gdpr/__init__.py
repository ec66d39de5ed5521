"""Data protection (GDPR): the register extract (extract.py), the information notice and the
informed date (notice.py), retention and erasure everywhere (retention.py, erasure.py), the
audit log (audit.py) and their settings (settings.py). The command line is app/gdpr/cli.py."""
