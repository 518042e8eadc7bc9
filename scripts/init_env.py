"""Create .env from .env.example with a fresh random BETTER_AUTH_SECRET, unless .env exists."""

import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    env_file = ROOT / ".env"
    if env_file.exists():
        return
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    secret = secrets.token_urlsafe(48)
    filled = [
        f"BETTER_AUTH_SECRET={secret}" if line.startswith("BETTER_AUTH_SECRET=") else line
        for line in lines
    ]
    env_file.write_text("\n".join(filled) + "\n", encoding="utf-8")
    env_file.chmod(0o600)
    print("created .env with a random development BETTER_AUTH_SECRET")


if __name__ == "__main__":
    main()
