"""``python -m elfaudit``."""

from elfaudit.cli import run

if __name__ == "__main__":
    run()
