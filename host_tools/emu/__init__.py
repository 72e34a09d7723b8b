"""Register-level emulated parts and buses, written from the datasheets."""
