"""RFC 9162 (Certificate Transparency v2) Merkle trees over stored perfect subtrees.

Hashing (RFC 9162 §2.1.1): a leaf hashes as ``SHA-256(0x00 || data)``, an interior node as
``SHA-256(0x01 || left || right)``, and the empty tree's root is ``SHA-256("")``.

Storage model: every *perfect, aligned* subtree is a node ``(level, index)`` covering the leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. The caller keeps all
of them (they never change once complete) and hands this module a getter ``get(level, index)`` or a
mapping keyed by ``(level, index)``. Every hash the RFC's algorithms need — a tree head, an
inclusion path, a consistency proof — is then a short fold over a few stored nodes, and the
``*_nodes`` functions say beforehand exactly which ones, so a caller can load the nodes for many
proofs in one query and pass the result as a dict.

Appending (``Appender``) keeps only the "frontier": the perfect node of each set bit of the size.
This module is standard library only and imports nothing else from ``portal``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Union

HASH_SIZE = 32
#: The root of the tree with no leaves: SHA-256 of the empty string.
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

Node = tuple[int, int]
Getter = Callable[[int, int], bytes]
NodeSource = Union[Getter, Mapping[Node, bytes]]

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def _as_getter(source: NodeSource | None) -> Getter:
    """A ``get(level, index)`` that checks it got a 32-byte hash, from a getter or a mapping."""
    if source is None:
        def raw(level: int, index: int) -> bytes:
            raise LookupError(f"no node source given, and node {(level, index)} is needed")
    elif isinstance(source, Mapping):
        mapping = source

        def raw(level: int, index: int) -> bytes:
            return mapping[(level, index)]
    elif callable(source):
        raw = source
    else:
        raise TypeError("get must be a callable get(level, index) or a mapping keyed by (level, index)")

    def get(level: int, index: int) -> bytes:
        value = raw(level, index)
        if value is None or len(value) != HASH_SIZE:
            raise LookupError(f"node {(level, index)} is missing or not a {HASH_SIZE}-byte hash")
        return bytes(value)

    return get


def _check_count(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")


def _split(n: int) -> int:
    """RFC 9162's k for n > 1: the largest power of two smaller than n."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect aligned nodes that make up the leaves ``[start, end)``, left to right.

    Greedy from the left: at each position the largest aligned node that fits. When ``start`` is a
    multiple of the largest power of two <= ``end - start`` (every range RFC 9162's algorithms ask
    for, e.g. the right edge of a tree) this is the binary decomposition of the length, largest
    first, and it is exactly what ``range_hash`` reads.
    """
    _check_count("start", start)
    _check_count("end", end)
    if start > end:
        raise ValueError(f"empty or reversed range [{start}, {end})")
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _range_hash(start: int, end: int, get: Getter) -> bytes:
    n = end - start
    if start % (1 << (n.bit_length() - 1)) == 0:
        # The RFC's splits land on stored nodes: MTH is the perfect decomposition folded right to left.
        nodes = range_nodes(start, end)
        level, index = nodes[-1]
        result = get(level, index)
        for level, index in reversed(nodes[:-1]):
            result = node_hash(get(level, index), result)
        return result
    # Not aligned (never asked for by the proofs below): split exactly as RFC 9162 §2.1.1 does.
    k = _split(n)
    return node_hash(_range_hash(start, start + k, get), _range_hash(start + k, end, get))


def range_hash(start: int, end: int, get: NodeSource) -> bytes:
    """MTH(D[start:end]) per RFC 9162 §2.1.1, from stored perfect nodes (``EMPTY_ROOT`` if empty).

    For the ranges the proof functions ask for it reads exactly ``range_nodes(start, end)``; any
    other range is still hashed exactly, by splitting as the RFC does, from finer nodes.
    """
    _check_count("start", start)
    _check_count("end", end)
    if start > end:
        raise ValueError(f"reversed range [{start}, {end})")
    if start == end:
        return EMPTY_ROOT
    return _range_hash(start, end, _as_getter(get))


def root(size: int, get: NodeSource) -> bytes:
    """The tree head MTH(D[0:size])."""
    return range_hash(0, size, get)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), in proof order."""
    _check_count("index", index)
    _check_count("size", size)
    if index >= size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()  # the recursion puts the deepest sibling first
    return ranges


def _consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1), in proof order."""
    _check_count("m", m)
    _check_count("n", n)
    if not 0 < m <= n:
        raise ValueError(f"a consistency proof needs 0 < m <= n, not m={m}, n={n}")
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, n, True  # SUBPROOF(m - start, D[start:end], whole)
    while True:
        if m - start == end - start:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if m - start <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            whole = False
    ranges.reverse()
    return ranges


def _nodes_of(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    nodes: set[Node] = set()
    for start, end in ranges:
        nodes.update(range_nodes(start, end))
    return nodes


def inclusion_proof(index: int, size: int, get: NodeSource) -> list[bytes]:
    """The audit path PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, deepest sibling first."""
    getter = _as_getter(get)
    return [_range_hash(start, end, getter) for start, end in _inclusion_ranges(index, size)]


def inclusion_nodes(index: int, size: int) -> set[Node]:
    """Exactly the stored nodes ``inclusion_proof(index, size, get)`` reads."""
    return _nodes_of(_inclusion_ranges(index, size))


def consistency_proof(m: int, n: int, get: NodeSource) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1 for 0 < m <= n (empty when m == n)."""
    getter = _as_getter(get)
    return [_range_hash(start, end, getter) for start, end in _consistency_ranges(m, n)]


def consistency_nodes(m: int, n: int) -> set[Node]:
    """Exactly the stored nodes ``consistency_proof(m, n, get)`` reads."""
    return _nodes_of(_consistency_ranges(m, n))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_path(proof: object) -> bool:
    return isinstance(proof, (list, tuple)) and all(_is_hash(p) for p in proof)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree ``(size, root)``
    (RFC 9162 §2.1.3.2). False, never an exception, for malformed input.

    The size counts only together with the root: take both from the same signed checkpoint.
    """
    if not (_is_hash(leaf) and _is_hash(root) and _is_count(index) and _is_count(size) and _is_path(proof)):
        return False
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = bytes(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree ``(m, old_root)`` is a prefix of ``(n, new_root)``
    (RFC 9162 §2.1.4.2; m == n needs an empty proof and equal roots). Needs 0 < m <= n.
    False, never an exception, for malformed input.
    """
    if not (_is_count(m) and _is_count(n) and _is_hash(old_root) and _is_hash(new_root) and _is_path(proof)):
        return False
    if not 0 < m <= n:
        return False
    if m == n:
        return len(proof) == 0 and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # the old tree is a perfect subtree: its root is the proof's first node
        path.insert(0, old_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class Appender:
    """Appends leaf hashes to a tree of ``size`` leaves without recomputing it.

    It holds only the frontier — for each set bit L of the size, the node ``(L, (size >> L) - 1)``,
    highest level first — read through ``get`` once, at construction.
    """

    __slots__ = ("_size", "_frontier")

    def __init__(self, size: int = 0, get: NodeSource | None = None) -> None:
        _check_count("size", size)
        getter = _as_getter(get)
        self._frontier: list[bytes] = [getter(level, index) for level, index in self.frontier_nodes(size)]
        self._size = size

    @staticmethod
    def frontier_nodes(size: int) -> list[Node]:
        """The stored nodes an ``Appender(size, get)`` reads, highest level (leftmost) first."""
        _check_count("size", size)
        return [(level, (size >> level) - 1) for level in range(size.bit_length() - 1, -1, -1)
                if size >> level & 1]

    @property
    def size(self) -> int:
        """The number of leaves in the tree so far."""
        return self._size

    def frontier(self) -> list[tuple[int, int, bytes]]:
        """The current frontier as ``(level, index, hash)``, highest level first."""
        return [(level, index, h) for (level, index), h in zip(self.frontier_nodes(self._size), self._frontier, strict=True)]

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return every perfect node it completes as ``(level, index, hash)``,
        starting with the leaf itself at level 0."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf_hash)}")
        index = self._size
        h = bytes(leaf_hash)
        created = [(0, index, h)]
        frontier = self._frontier
        level = 0
        while index & 1:
            h = _sha256(_NODE + frontier.pop() + h).digest()
            index >>= 1
            level += 1
            created.append((level, index, h))
        frontier.append(h)
        self._size += 1
        return created

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """Append several leaf hashes; return all the nodes they complete, in creation order."""
        created: list[tuple[int, int, bytes]] = []
        for h in leaf_hashes:
            created.extend(self.append(h))
        return created

    def root(self) -> bytes:
        """The current tree head MTH(D[0:size])."""
        frontier = self._frontier
        if not frontier:
            return EMPTY_ROOT
        result = frontier[-1]
        for i in range(len(frontier) - 2, -1, -1):
            result = _sha256(_NODE + frontier[i] + result).digest()
        return result


class StreamingRoot(Appender):
    """An ``Appender`` that starts from the empty tree and needs no storage: feed it every leaf
    hash in order with ``append`` (which returns each perfect node as it completes, to compare
    with stored ones) and read ``root()`` at any size. Memory is O(log n)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)
