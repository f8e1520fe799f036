"""Where an output may be: one rule for the manifest, the lock and the journal, and the
checks made on disk before anything is written or deleted there.

An output path names a file a build writes and may later delete, and it comes from
hostile input (a manifest, a hand-edited or merged lock, the journal). So it must
never name anything else: a user's README, git's or assetgen's own state, or a file
outside the project. The rule (``path_problem``), for a path relative to the
manifest's folder:

- relative, with ``/`` separators, normalised (no empty, ``.`` or ``..`` part);
- no NUL and no backslash anywhere (a backslash separates folders on Windows);
- no ``.git`` or ``.assetgen`` part, in any case (git's and assetgen's own state);
- an extension assetgen writes (.png, .jpg, .jpeg, .webp);
- inside the manifest's ``output_dir`` (``inside``): a lock entry for ``README.md``
  or ``src/logo.png`` is refused although both are in the project. (So after a
  change of ``output_dir`` the old lock is refused too: it says how to go on.)

On disk (``symlink_on_path`` before every write and delete, ``output_dir_problem`` at
plan time): no part of the path below the project root is a symlink. The rule is
strict on purpose, and simple: a link is refused even where it points back into the
project, since a rule about where links point must resolve them again at every use,
and a refused link is easy to fix (point ``output_dir`` at the real folder). The
project root itself may be reached through links: it is resolved once, at start.
A link swapped in between the check and the write is not guarded against.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from .derive.recipe import IMAGE_FORMATS, TEXT_EXTENSIONS
from .spec import FORMATS

RESERVED = frozenset({".git", ".assetgen"})
_DRIVE = re.compile(r"[A-Za-z]:")
_FORMATS_HINT = ".png, .jpg, .jpeg or .webp"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, line breaks


def shown(rel: str) -> str:
    """``rel`` fit for a message: control characters (a NUL) as escapes, not raw bytes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", rel)


def _parts_problem(rel: str) -> str | None:
    if not rel:
        return "is empty"
    if "\0" in rel:
        return "contains a NUL character"
    if _CONTROL.search(rel):
        # An escape or a newline in a file name reaches every terminal that lists it.
        return "contains a control character (such as an escape or a newline)"
    if "\\" in rel:
        return "contains a backslash (folders are separated by `/`)"
    if rel.startswith("/") or _DRIVE.match(rel):
        return "is absolute (it must be relative to the manifest's folder)"
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            return "is not a plain relative path (it has an empty, `.` or `..` part)"
        if part.casefold() in RESERVED:
            return f"is inside `{part}/`, which is {part.casefold().lstrip('.')}'s own, not for outputs"
    return None


def path_problem(rel: str) -> str | None:
    """Why ``rel`` (relative to the manifest's folder) cannot be an output, or None."""
    problem = _parts_problem(rel)
    if problem is not None:
        return problem
    name = rel.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in FORMATS:
        return f"does not end in {_FORMATS_HINT} (the formats assetgen writes)"
    return None


# What a recipe may write: the image formats and text files derive/recipe.py knows.
DERIVED_EXTENSIONS = frozenset(IMAGE_FORMATS) | TEXT_EXTENSIONS


def derived_path_problem(rel: str) -> str | None:
    """Why ``rel`` cannot be a derived output (derive/recipe.py), or None: the rule of
    ``path_problem`` with the formats a recipe writes (images and text files)."""
    problem = _parts_problem(rel)
    if problem is not None:
        return problem
    name = rel.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in DERIVED_EXTENSIONS:
        return f"does not end in an extension assetgen derives ({', '.join(sorted(DERIVED_EXTENSIONS))})"
    return None


def dir_problem(rel: str) -> str | None:
    """Why ``rel`` cannot be an ``output_dir`` (normalised; ``.`` is the manifest's folder)."""
    return None if rel == "." else _parts_problem(rel)


def inside(rel: str, output_dir: str) -> bool:
    """Whether ``rel`` is below ``output_dir`` (both relative to the manifest's folder)."""
    return output_dir == "." or rel.startswith(output_dir + "/")


def outside_paths(paths: Iterable[tuple[str, str]], output_dir: str) -> tuple[str, str] | None:
    """The first (name, path) of ``paths`` that is not inside ``output_dir``, or None."""
    if output_dir == ".":
        return None
    prefix = output_dir + "/"
    return next(((n, p) for n, p in paths if not p.startswith(prefix)), None)


def symlink_on_path(root: Path, rel: str) -> str | None:
    """The first part of ``rel`` below ``root`` that is a symlink (as a relative path), or None.

    Parts that do not exist yet are made as real folders by the write."""
    current = root
    parts = rel.split("/")
    for i, part in enumerate(parts):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return None  # absent (or a file where a folder should be): nothing to follow
        if stat.S_ISLNK(mode):
            return "/".join(parts[: i + 1])
    return None


def use_problem(
    root: Path, rel: str, output_dir: str = ".", *, derived: bool = False
) -> str | None:
    """Why ``root/rel`` must not be written or deleted now, or None (checked at use time).
    ``derived``: a derived output, which may also be any format a recipe writes."""
    problem = derived_path_problem(rel) if derived else path_problem(rel)
    if problem is None and not inside(rel, output_dir):
        problem = f"is outside output_dir `{output_dir}`"
    if problem is not None:
        return problem
    link = symlink_on_path(root, rel)
    if link is not None:
        return f"goes through the symlink `{link}` (assetgen writes only into real folders)"
    return None


def output_dir_problem(root: Path, output_dir: str) -> tuple[str, str] | None:
    """Why the output folder cannot be used as it is on disk: (problem, hint), or None."""
    if output_dir == ".":
        return None
    link = symlink_on_path(root, output_dir)
    if link is None:
        return None
    target = Path(os.path.realpath(root / link))
    what = "is a symlink" if link == output_dir else f"goes through the symlink `{link}`"
    try:
        within = target.relative_to(root).as_posix()
    except ValueError:
        return (
            f"{what} to {target}, outside the project",
            "outputs stay inside the project: make it a real folder",
        )
    real = posixpath.normpath(posixpath.join(within, output_dir[len(link) + 1 :]))
    return (
        f"{what} (to `{within}`); assetgen writes only into real folders",
        f"point output_dir at `{real}` instead",
    )
