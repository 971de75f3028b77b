"""elfaudit: audit the symbol-versioned ABI of ELF shared libraries."""

__version__ = "0.1.0"
