"""Signed certificates: the programme's signing key, the compact signed statement a certificate's
QR code carries, the signed revocation list, reading a QR code from a scan or a PDF, and the
static verifier page. Pure: no database here (the services look things up and call these)."""
