"""`rapport backup` (take, verify, list) and `rapport restore`: the commands over backup.py and
restore.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from services.common.config import get_settings
from services.domain.backup import BackupError, backups, default_name, take, verify
from services.domain.restore import restore


def cmd_backup(args: argparse.Namespace) -> int:
    settings = get_settings()
    directory = Path(settings.rapport_backup_dir)
    try:
        if args.backup_action == "verify":
            checked = verify(Path(args.file))
            print(
                f"{args.file}: intact. A {checked.database} backup of {checked.created_at}, "
                f"schema {checked.schema_revision}, {sum(checked.rows.values()):,} rows in "
                f"{len(checked.rows)} tables; the dump's sha256 matches the manifest."
            )
        elif args.backup_action == "list":
            found = backups(directory)
            if not found:
                print(f"No backups in {directory} yet: `rapport backup` takes one.")
            for path, manifest in found:
                size = f"{path.stat().st_size / 1e6:>10,.1f} MB"
                if manifest is None:
                    print(f"{path.name}  {size}  unreadable (rapport backup verify {path})")
                    continue
                print(
                    f"{path.name}  {size}  {manifest.created_at}  {manifest.database:<10} "
                    f"schema {manifest.schema_revision}  "
                    f"{manifest.rows.get('interaction_event', 0):,} events"
                )
        else:
            out = Path(args.out) if args.out else directory / default_name()
            take(settings.database_url, out)
    except BackupError as exc:
        print(f"rapport backup: {exc}", file=sys.stderr)
        return exc.status
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    try:
        restore(get_settings().database_url, Path(args.file), replace=args.replace)
    except BackupError as exc:
        print(f"rapport restore: {exc}", file=sys.stderr)
        return exc.status
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("backup", help="back up the database while everything runs; verify, list")
    p.add_argument("--out", help="the file to write (default RAPPORT_BACKUP_DIR/rapport-<when>)")
    p.set_defaults(func=cmd_backup, backup_action=None)
    actions = p.add_subparsers(dest="backup_action", metavar="ACTION")
    verify_p = actions.add_parser("verify", help="check a backup's dump against its manifest")
    verify_p.add_argument("file")
    actions.add_parser("list", help="the backups in RAPPORT_BACKUP_DIR")
    p = sub.add_parser("restore", help="restore a backup into DATABASE_URL (then migrate, check)")
    p.add_argument("file")
    p.add_argument(
        "--replace", action="store_true", help="overwrite a database that already holds data"
    )
    p.set_defaults(func=cmd_restore)
