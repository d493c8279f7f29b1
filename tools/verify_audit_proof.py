#!/usr/bin/env python3
"""Check the Partner Sharing Portal's audit-log proofs offline, trusting nothing but its keys.

Self-contained (Python 3.9+ and the ``cryptography`` package): copy it anywhere. Save the portal's
JSON answers (fetched with an org-admin or auditor API token) and run

  python verify_audit_proof.py --keys keys.json --checkpoint cp.json \\
      [--entries page.json] [--consistency proof.json --old-checkpoint old.json]

  keys.json   GET /api/v1/audit/public-keys          cp.json  one of GET /api/v1/audit/checkpoints
  page.json   a page of your entries (leaf, leaf_index, tree_size, inclusion_proof) and checkpoint
  proof.json  GET /api/v1/audit/consistency?from=M&to=N; old.json: the size-M checkpoint you kept

Checks: each checkpoint's Ed25519 signature over its signed text (a C2SP tlog-checkpoint body:
origin, size, base64 root, one per line) and that this text states its tree_size and root_hash;
each sealed entry's RFC 9162 inclusion proof against its page's checkpoint (unsealed entries are
listed, not failed); the RFC 9162 consistency proof from the old tree to the new; and that no two
checkpoints give different roots for one size. Keep the checkpoints you verify for next time.

Prints one line per check and a summary. Exit status: 0 every check passed, 1 a check failed,
2 unreadable input (missing file, bad JSON, unusable key list).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Unreadable(Exception):
    """An input that cannot be read at all (exit status 2)."""


class Check(NamedTuple):
    status: str  # "PASS", "FAIL" or "WAIT" (an entry not sealed yet)
    message: str


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc9162_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` put the leaf hash at ``index`` in the tree (size, root)?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def rfc9162_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (m, old_root) a prefix of the tree (n, new_root)?"""
    if not 0 < m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = [old_root] + proof if m & (m - 1) == 0 else proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def _b64(text: Any, length: int | None = None) -> bytes:
    raw = base64.b64decode(text, validate=True)  # TypeError, or ValueError (binascii.Error)
    if length is not None and len(raw) != length:
        raise ValueError(f"{len(raw)} bytes where {length} were expected")
    return raw


def _hash(value: Any) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(f"{value!r} is not a 64-digit hex hash")
    return bytes.fromhex(value)


def _hashes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise ValueError("a proof is a list of hex hashes")
    return [_hash(v) for v in values]


def _size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a tree size")
    return value


def load_keys(doc: Any) -> dict[str, Ed25519PublicKey]:
    """The key list (``{"items": [{"key_id", "public_key"}]}``) as key_id -> public key."""
    try:
        return {item["key_id"]: Ed25519PublicKey.from_public_bytes(_b64(item["public_key"], 32))
                for item in doc["items"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise Unreadable(f"unusable key list: {exc}") from exc


def verify_checkpoint(checkpoint: Any, keys: Any, label: str = "checkpoint") -> list[Check]:
    """Its signature verifies under its key, and its signed text is exactly origin, size, root."""
    loaded = isinstance(keys, dict) and all(isinstance(k, Ed25519PublicKey) for k in keys.values())
    keyring = keys if loaded else load_keys(keys)
    try:
        size, root = _size(checkpoint["tree_size"]), _hash(checkpoint["root_hash"])
        text, key_id, signature = checkpoint["signed_text"], checkpoint["key_id"], _b64(checkpoint["signature"])
        signed = text.encode("utf-8")  # AttributeError if not a string, ValueError if not encodable
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return [Check("FAIL", f"{label}: malformed ({exc!r})")]
    checks = []
    key = keyring.get(key_id) if isinstance(key_id, str) else None
    if key is None:
        checks.append(Check("FAIL", f"{label}: signed by unknown key {key_id!r}"))
    else:
        try:
            key.verify(signature, signed)
            checks.append(Check("PASS", f"{label}: Ed25519 signature by key {key_id!r}"))
        except InvalidSignature:
            checks.append(Check("FAIL", f"{label}: signature does not verify under key {key_id!r}"))
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "" or not lines[0]:
        return checks + [Check("FAIL", f"{label}: signed text is not exactly three lines (origin, size, root)")]
    origin, signed_size, signed_root = lines[:3]
    root_ok = signed_root == base64.b64encode(root).decode()
    if re.fullmatch(r"0|[1-9][0-9]*", signed_size) and int(signed_size) == size and root_ok:
        checks.append(Check("PASS", f"{label}: signed text states {origin!r}, size {size}, root {root.hex()}"))
    else:
        checks.append(Check("FAIL", f"{label}: signed text does not state tree_size {size} and root_hash {root.hex()}"))
    return checks


def verify_entries(page: Any, keys: Any) -> list[Check]:
    """The page's checkpoint verifies, and each sealed entry's inclusion proof verifies against it."""
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise Unreadable("an entries page is an object with a list of items")
    checkpoint = page.get("checkpoint")
    checks = verify_checkpoint(checkpoint, keys, "entries' checkpoint")
    try:
        cp_size, cp_root = _size(checkpoint["tree_size"]), _hash(checkpoint["root_hash"])
    except (KeyError, TypeError, ValueError):
        return checks + [Check("FAIL", "entries: no usable checkpoint to prove them against")]
    for position, item in enumerate(page["items"]):
        name = f"entry {position}" + (f" (id {item['id']})" if isinstance(item, dict) and "id" in item else "")
        try:
            if item["leaf_index"] is None:
                checks.append(Check("WAIT", f"{name}: not yet sealed"))
                continue
            index, size = _size(item["leaf_index"]), _size(item["tree_size"])
            leaf = hashlib.sha256(b"\x00" + _b64(item["leaf"])).digest()
            proof = _hashes(item["inclusion_proof"])
        except (KeyError, TypeError, ValueError) as exc:
            checks.append(Check("FAIL", f"{name}: malformed ({exc!r})"))
            continue
        if size != cp_size:
            checks.append(Check("FAIL", f"{name}: proved against size {size}, the checkpoint is {cp_size}"))
        elif rfc9162_inclusion(leaf, index, cp_size, proof, cp_root):
            checks.append(Check("PASS", f"{name}: leaf {index} is in the tree of size {size}"))
        else:
            checks.append(Check("FAIL", f"{name}: inclusion proof of leaf {index} does not verify"))
    return checks


def verify_consistency_file(proof_doc: Any, old_checkpoint: Any, new_checkpoint: Any) -> list[Check]:
    """The consistency proof links the two checkpoints (verify their signatures separately)."""
    try:
        m, n = _size(proof_doc["from"]), _size(proof_doc["to"])
        proof = _hashes(proof_doc["proof"])
        old_size, old_root = _size(old_checkpoint["tree_size"]), _hash(old_checkpoint["root_hash"])
        new_size, new_root = _size(new_checkpoint["tree_size"]), _hash(new_checkpoint["root_hash"])
    except (KeyError, TypeError, ValueError) as exc:
        return [Check("FAIL", f"consistency: malformed ({exc!r})")]
    if (m, n) != (old_size, new_size):
        return [Check("FAIL", f"consistency: proof is {m} -> {n}, the checkpoints are {old_size} -> {new_size}")]
    if rfc9162_consistency(old_size, new_size, old_root, new_root, proof):
        return [Check("PASS", f"consistency: the tree of size {m} is a prefix of the tree of size {n}")]
    return [Check("FAIL", f"consistency: proof {m} -> {n} does not verify")]


def _read(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"{path}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", required=True, help="the portal's public keys (JSON)")
    parser.add_argument("--checkpoint", required=True, help="a signed checkpoint (JSON)")
    parser.add_argument("--entries", help="a page of your entries with inclusion proofs (JSON)")
    parser.add_argument("--consistency", help="a consistency proof from --old-checkpoint to --checkpoint")
    parser.add_argument("--old-checkpoint", help="the earlier checkpoint the consistency proof starts from")
    args = parser.parse_args(argv)
    if bool(args.consistency) != bool(args.old_checkpoint):
        parser.error("--consistency and --old-checkpoint go together")
    try:
        keys = load_keys(_read(args.keys))
        checkpoint = _read(args.checkpoint)
        checkpoints = [checkpoint]
        checks = verify_checkpoint(checkpoint, keys)
        if args.entries:
            page = _read(args.entries)
            checks += verify_entries(page, keys)
            checkpoints.append(page.get("checkpoint"))
        if args.consistency:
            old = _read(args.old_checkpoint)
            checkpoints.append(old)
            checks += verify_checkpoint(old, keys, "old checkpoint")
            checks += verify_consistency_file(_read(args.consistency), old, checkpoint)
    except Unreadable as exc:
        print(f"ERROR unreadable input: {exc}", file=sys.stderr)
        return 2
    heads = {(cp["tree_size"], cp["root_hash"].lower()) for cp in checkpoints if isinstance(cp, dict)
             and isinstance(cp.get("tree_size"), int) and isinstance(cp.get("root_hash"), str)}
    if len({size for size, _ in heads}) < len(heads):  # two roots for one size: the log forked
        checks.append(Check("FAIL", "checkpoints: two different roots for the same tree size"))
    for check in checks:
        print(f"{check.status}  {check.message}")
    failed = sum(check.status == "FAIL" for check in checks)
    waiting = sum(check.status == "WAIT" for check in checks)
    if failed:
        print(f"FAILED: {failed} of {len(checks)} checks failed")
        return 1
    print(f"OK: all {len(checks) - waiting} checks passed" + (f"; {waiting} not yet sealed" if waiting else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
