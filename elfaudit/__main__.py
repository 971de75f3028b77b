"""``python -m elfaudit``."""

from elfaudit.cli import main

if __name__ == "__main__":
    main()
