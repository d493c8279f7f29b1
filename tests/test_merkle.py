"""The RFC 9162 Merkle tree library (portal/audit/merkle.py) and the stand-alone proof verifier
(tools/verify_audit_proof.py), checked against a naive recursive transcription of RFC 9162 §2.1
written here. No database and no app: these are pure functions."""
from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.audit.merkle import (
    EMPTY_ROOT, Appender, StreamingRoot, consistency_nodes, consistency_proof, inclusion_nodes, inclusion_proof,
    leaf_hash, node_hash, range_hash, range_nodes, root, verify_consistency, verify_inclusion,
)

TOOL_PATH = Path(__file__).resolve().parents[1] / "tools" / "verify_audit_proof.py"
_spec = importlib.util.spec_from_file_location("verify_audit_proof", TOOL_PATH)
assert _spec and _spec.loader
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


# --- A naive RFC 9162 §2.1 reference, transcribed from the RFC's recursive definitions ------------

def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_leaf(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def ref_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    """MTH over a list of *leaf hashes*."""
    n = len(hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return hashes[0]
    k = ref_k(n)
    return sha256(b"\x01" + ref_mth(hashes[:k]) + ref_mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return ref_path(m, hashes[:k]) + [ref_mth(hashes[k:])]
    return ref_path(m - k, hashes[k:]) + [ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [ref_mth(hashes)]
    k = ref_k(n)
    if m <= k:
        return ref_subproof(m, hashes[:k], whole) + [ref_mth(hashes[k:])]
    return ref_subproof(m - k, hashes[k:], False) + [ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: list[bytes]) -> list[bytes]:
    return ref_subproof(m, hashes, True)


def perfect_nodes(size: int) -> set[tuple[int, int]]:
    return {(level, index) for level in range(size.bit_length()) for index in range(size >> level)}


MAX = 4096
LEAVES = [ref_leaf(f"audit entry {i}".encode()) for i in range(MAX)]
# Every perfect subtree of the 4096-leaf tree, built pairwise (independently of the library).
STORE: dict[tuple[int, int], bytes] = {(0, i): h for i, h in enumerate(LEAVES)}
for _level in range(1, MAX.bit_length()):
    for _index in range(MAX >> _level):
        STORE[(_level, _index)] = sha256(b"\x01" + STORE[(_level - 1, 2 * _index)] + STORE[(_level - 1, 2 * _index + 1)])
ROOTS = [ref_mth(LEAVES[:n]) for n in range(80)]


class Recorder:
    """A getter that remembers which nodes were read."""

    def __init__(self, store: dict[tuple[int, int], bytes]) -> None:
        self.store, self.read = store, set()

    def __call__(self, level: int, index: int) -> bytes:
        self.read.add((level, index))
        return self.store[(level, index)]


def flipped(data: bytes, position: int, bit: int = 0x01) -> bytes:
    return data[:position] + bytes([data[position] ^ bit]) + data[position + 1:]


# --- Hashing and the published vectors ----------------------------------------------------------

CT_DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_LEAVES = [leaf_hash(bytes.fromhex(d)) for d in CT_DATA]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CT_CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}


def test_empty_tree_root_is_sha256_of_the_empty_string() -> None:
    assert EMPTY_ROOT.hex() == CT_ROOTS[0] == hashlib.sha256(b"").hexdigest()
    assert root(0, {}) == EMPTY_ROOT
    assert Appender().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated_as_in_rfc9162() -> None:
    a, b = sha256(b"a"), sha256(b"b")
    assert leaf_hash(b"abc") == sha256(b"\x00abc")
    assert node_hash(a, b) == sha256(b"\x01" + a + b)
    assert leaf_hash(a + b) != node_hash(a, b)


def test_certificate_transparency_reference_vectors_are_reproduced() -> None:
    appender, store = Appender(), {}
    for size, h in enumerate(CT_LEAVES, start=1):
        store.update(((level, index), x) for level, index, x in appender.append(h))
        assert appender.root().hex() == CT_ROOTS[size]
        assert root(size, store).hex() == CT_ROOTS[size]
    for (index, size), expected in CT_INCLUSION.items():
        assert [p.hex() for p in inclusion_proof(index, size, store)] == expected
        assert verify_inclusion(CT_LEAVES[index], index, size, [bytes.fromhex(p) for p in expected],
                                bytes.fromhex(CT_ROOTS[size]))
    for (m, n), expected in CT_CONSISTENCY.items():
        assert [p.hex() for p in consistency_proof(m, n, store)] == expected
        assert verify_consistency(m, n, bytes.fromhex(CT_ROOTS[m]), bytes.fromhex(CT_ROOTS[n]),
                                  [bytes.fromhex(p) for p in expected])


# --- Tree heads and ranges ----------------------------------------------------------------------

def test_root_equals_naive_mth_for_every_size_up_to_70() -> None:
    for size in range(71):
        assert root(size, STORE) == ref_mth(LEAVES[:size]) == ROOTS[size]


def test_range_nodes_partition_any_range_into_aligned_perfect_nodes_left_to_right() -> None:
    for start in range(65):
        for end in range(start, 65):
            position = start
            for level, index in range_nodes(start, end):
                assert index << level == position  # contiguous, left to right, aligned by construction
                position += 1 << level
            assert position == end


def test_range_nodes_of_a_right_edge_is_the_binary_decomposition_of_its_length() -> None:
    for size in range(1, 200):
        levels = [level for level, _ in range_nodes(0, size)]
        assert levels == [b for b in reversed(range(size.bit_length())) if size >> b & 1]
        assert range_nodes(0, size) == Appender.frontier_nodes(size)


def test_range_hash_equals_naive_mth_for_every_subrange_up_to_48_leaves() -> None:
    for start in range(49):
        assert range_hash(start, start, STORE) == EMPTY_ROOT
        for end in range(start + 1, 49):
            assert range_hash(start, end, STORE) == ref_mth(LEAVES[start:end]), (start, end)


def test_range_hash_reads_exactly_range_nodes_when_start_is_aligned_to_the_split() -> None:
    checked = 0
    for start in range(65):
        for end in range(start + 1, 65):
            if start % (1 << ((end - start).bit_length() - 1)):
                continue
            recorder = Recorder(STORE)
            assert range_hash(start, end, recorder) == ref_mth(LEAVES[start:end])
            assert recorder.read == set(range_nodes(start, end))
            checked += 1
    assert checked > 300


# --- Inclusion and consistency proofs against the reference -------------------------------------

def test_inclusion_proofs_equal_the_naive_path_verify_and_read_only_inclusion_nodes_up_to_70() -> None:
    for size in range(1, 71):
        for index in range(size):
            recorder = Recorder(STORE)
            proof = inclusion_proof(index, size, recorder)
            assert proof == ref_path(index, LEAVES[:size]), (index, size)
            assert recorder.read == inclusion_nodes(index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


def test_consistency_proofs_equal_the_naive_proof_verify_and_read_only_consistency_nodes_up_to_70() -> None:
    for n in range(1, 71):
        for m in range(1, n + 1):
            recorder = Recorder(STORE)
            proof = consistency_proof(m, n, recorder)
            assert proof == ref_proof(m, LEAVES[:n]), (m, n)
            assert recorder.read == consistency_nodes(m, n)
            assert verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)
    assert consistency_proof(9, 9, STORE) == []


def test_nodes_for_many_proofs_loaded_in_one_batch_are_enough_to_build_them_all() -> None:
    size, indices = 3000, [0, 1, 2, 999, 1024, 2047, 2048, 2999]
    wanted = set().union(*(inclusion_nodes(i, size) for i in indices), consistency_nodes(1500, size))
    batch = {node: STORE[node] for node in wanted}  # what one "WHERE (level, index) IN (...)" returns
    assert len(batch) < 100
    for i in indices:
        assert verify_inclusion(LEAVES[i], i, size, inclusion_proof(i, size, batch), root(size, STORE))
    assert verify_consistency(1500, size, root(1500, STORE), root(size, STORE), consistency_proof(1500, size, batch))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=st.integers(1, MAX))
def test_proofs_and_roots_match_the_naive_reference_in_trees_of_thousands_of_leaves(data: Any, size: int) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    m = data.draw(st.integers(1, size), label="m")
    hashes = LEAVES[:size]
    tree_root = ref_mth(hashes)
    assert root(size, STORE) == tree_root
    proof = inclusion_proof(index, size, STORE)
    assert proof == ref_path(index, hashes)
    assert verify_inclusion(LEAVES[index], index, size, proof, tree_root)
    cproof = consistency_proof(m, size, STORE)
    assert cproof == ref_proof(m, hashes)
    assert verify_consistency(m, size, ref_mth(LEAVES[:m]), tree_root, cproof)


# --- Verification, against a literal transcription of RFC 9162 §2.1.3.2 and §2.1.4.2 -------------

def ref_verify_inclusion(leaf: bytes, leaf_index: int, tree_size: int, inclusion_path: list[bytes],
                         root_hash: bytes) -> bool:
    if leaf_index >= tree_size:                                        # step 1
        return False
    fn, sn = leaf_index, tree_size - 1                                 # step 2
    r = leaf                                                           # step 3
    for p in inclusion_path:                                           # step 4
        if sn == 0:                                                    # 4a
            return False
        if fn % 2 == 1 or fn == sn:                                    # 4b
            r = sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2                                      # 4c
    return sn == 0 and r == root_hash                                  # step 5


def ref_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                           consistency_path: list[bytes]) -> bool:
    if not 0 < first < second:  # the RFC's precondition; first == second is not its case
        return first == second and not consistency_path and first_hash == second_hash
    if not consistency_path:                                           # step 1
        return False
    if first & (first - 1) == 0:                                       # step 2
        consistency_path = [first_hash] + consistency_path
    fn, sn = first - 1, second - 1                                     # step 3
    while fn % 2 == 1:                                                 # step 4
        fn, sn = fn // 2, sn // 2
    fr = sr = consistency_path[0]                                      # step 5
    for c in consistency_path[1:]:                                     # step 6
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            sr = sha256(b"\x01" + sr + c)
        fn, sn = fn // 2, sn // 2
    return fr == first_hash and sr == second_hash and sn == 0          # step 7


def test_library_and_tool_verifiers_agree_with_the_rfc_text_on_genuine_and_mangled_proofs() -> None:
    accepted = rejected = 0
    for size in range(1, 17):
        for index in range(size):
            proof = inclusion_proof(index, size, STORE)
            for claimed in (proof, proof[:-1], proof + [LEAVES[1]]):
                for i2 in range(19):
                    for n2 in range(i2 + 1, 19):  # other indices and sizes, against the genuine root
                        expected = ref_verify_inclusion(LEAVES[index], i2, n2, claimed, ROOTS[size])
                        assert verify_inclusion(LEAVES[index], i2, n2, claimed, ROOTS[size]) is expected
                        assert tool.rfc9162_inclusion(LEAVES[index], i2, n2, claimed, ROOTS[size]) is expected
                        accepted, rejected = accepted + expected, rejected + (not expected)
    for n in range(2, 17):
        for m in range(1, n):
            proof = consistency_proof(m, n, STORE)
            for claimed in (proof, proof[:-1], proof + [LEAVES[1]]):
                for m2 in range(1, 19):
                    for n2 in range(m2, 19):
                        expected = ref_verify_consistency(m2, n2, ROOTS[m], ROOTS[n], claimed)
                        assert verify_consistency(m2, n2, ROOTS[m], ROOTS[n], claimed) is expected
                        assert tool.rfc9162_consistency(m2, n2, ROOTS[m], ROOTS[n], claimed) is expected
                        accepted, rejected = accepted + expected, rejected + (not expected)
    assert accepted > 1000 and rejected > 10000


# --- Tampering ----------------------------------------------------------------------------------

def test_inclusion_verification_fails_for_a_flipped_byte_wrong_index_wrong_size_or_altered_length() -> None:
    for size in range(1, 41):
        for index in range(size):
            proof = inclusion_proof(index, size, STORE)
            leaf, good_root = LEAVES[index], ROOTS[size]
            assert verify_inclusion(leaf, index, size, proof, good_root)
            for position in (0, 13, 31):
                assert not verify_inclusion(flipped(leaf, position), index, size, proof, good_root)
                assert not verify_inclusion(leaf, index, size, proof, flipped(good_root, position, 0x80))
                for k in range(len(proof)):
                    bad = proof[:k] + [flipped(proof[k], position)] + proof[k + 1:]
                    assert not verify_inclusion(leaf, index, size, bad, good_root)
            for other in range(size + 3):
                if other != index:
                    assert not verify_inclusion(leaf, other, size, proof, good_root), (index, other, size)
            for other_size in range(1, size + 4):
                if other_size != size:  # a wrong size, with that size's own root
                    assert not verify_inclusion(leaf, index, other_size, proof, ROOTS[other_size])
            if proof:
                assert not verify_inclusion(leaf, index, size, proof[:-1], good_root)
                assert not verify_inclusion(leaf, index, size, proof[1:], good_root)
            assert not verify_inclusion(leaf, index, size, proof + [LEAVES[0]], good_root)
            assert not verify_inclusion(leaf, index, size, [LEAVES[0]] + proof, good_root)


def test_inclusion_verification_binds_the_size_only_through_the_root_so_both_must_come_from_one_checkpoint() -> None:
    # RFC 9162 §2.1.3.2 uses the size only to steer the path: leaf 0's proof in the tree of 3 also
    # "verifies" for a claimed size of 4 against the 3-leaf root. Callers (and the offline tool) must
    # take size and root from the same signed checkpoint, whose signed text states both.
    proof = inclusion_proof(0, 3, STORE)
    assert verify_inclusion(LEAVES[0], 0, 4, proof, ROOTS[3])
    assert not verify_inclusion(LEAVES[0], 0, 4, proof, ROOTS[4])


def test_consistency_verification_fails_for_a_flipped_byte_wrong_sizes_swapped_roots_or_altered_length() -> None:
    for n in range(2, 41):
        for m in range(1, n):
            proof = consistency_proof(m, n, STORE)
            old, new = ROOTS[m], ROOTS[n]
            assert verify_consistency(m, n, old, new, proof)
            for position in (0, 13, 31):
                assert not verify_consistency(m, n, flipped(old, position), new, proof)
                assert not verify_consistency(m, n, old, flipped(new, position), proof)
                for k in range(len(proof)):
                    bad = proof[:k] + [flipped(proof[k], position)] + proof[k + 1:]
                    assert not verify_consistency(m, n, old, new, bad)
            for m2 in range(1, n + 3):
                for n2 in range(max(m2, 1), n + 3):
                    if (m2, n2) != (m, n) and m2 != n2:  # wrong sizes, with those sizes' own roots
                        assert not verify_consistency(m2, n2, ROOTS[m2], ROOTS[n2], proof), (m, n, m2, n2)
            assert not verify_consistency(m, n, new, old, proof)
            assert not verify_consistency(n, m, new, old, proof)
            assert not verify_consistency(m, n, old, new, proof[:-1])
            assert not verify_consistency(m, n, old, new, proof[1:])
            assert not verify_consistency(m, n, old, new, proof + [LEAVES[0]])
            assert not verify_consistency(m, n, old, new, [LEAVES[0]] + proof)
            assert not verify_consistency(m, n, old, new, [])


def test_consistency_of_equal_sizes_needs_an_empty_proof_and_the_same_root() -> None:
    assert verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    assert not verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    assert not verify_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[5]])


HASHES = st.binary(min_size=32, max_size=32)
GARBAGE = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 2**70), st.text(max_size=40), st.binary(max_size=40), HASHES,
    st.lists(st.one_of(HASHES, st.binary(max_size=40), st.none(), st.integers()), max_size=5), st.floats(),
)


@settings(max_examples=400, deadline=None)
@given(leaf=GARBAGE, index=GARBAGE, size=GARBAGE, proof=GARBAGE, tree_root=GARBAGE)
def test_verifiers_return_false_and_never_raise_on_malformed_input(
        leaf: Any, index: Any, size: Any, proof: Any, tree_root: Any) -> None:
    assume(leaf != tree_root)  # (1 leaf, no proof, leaf == root) is a genuine one-leaf tree
    assert verify_inclusion(leaf, index, size, proof, tree_root) is False
    assert verify_consistency(index, size, leaf, tree_root, proof) is False


def test_verifiers_reject_well_typed_but_impossible_arguments() -> None:
    proof = inclusion_proof(5, 8, STORE)
    assert verify_inclusion(LEAVES[5], 5, 8, proof, ROOTS[8])
    assert not verify_inclusion(LEAVES[5], 8, 8, proof, ROOTS[8])
    assert not verify_inclusion(LEAVES[5], -1, 8, proof, ROOTS[8])
    assert not verify_inclusion(LEAVES[5][:31], 5, 8, proof, ROOTS[8])
    assert not verify_inclusion(LEAVES[5], 5, 8, [proof[0][:31]] + proof[1:], ROOTS[8])
    assert not verify_inclusion(LEAVES[5], 5, 8, proof, ROOTS[8] + b"\x00")
    assert not verify_inclusion(LEAVES[5], True, 8, proof, ROOTS[8])
    assert not verify_inclusion(LEAVES[0], 0, 0, [], EMPTY_ROOT)
    cproof = consistency_proof(6, 8, STORE)
    assert not verify_consistency(8, 6, ROOTS[8], ROOTS[6], cproof)
    assert not verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    assert not verify_consistency(6, 8, ROOTS[6][:31], ROOTS[8], cproof)
    assert not verify_consistency(6, 8, ROOTS[6], ROOTS[8], "".join(p.hex() for p in cproof))


def test_generators_refuse_out_of_range_arguments_and_missing_nodes() -> None:
    for call in (lambda: inclusion_proof(5, 5, STORE), lambda: inclusion_proof(-1, 5, STORE),
                 lambda: consistency_proof(0, 5, STORE), lambda: consistency_proof(6, 5, STORE),
                 lambda: inclusion_nodes(3, 3), lambda: consistency_nodes(4, 3),
                 lambda: range_nodes(5, 3), lambda: range_hash(5, 3, STORE),
                 lambda: Appender().append(b"\x00" * 31), lambda: Appender(-1, STORE)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(LookupError):
        inclusion_proof(0, 8, {})
    with pytest.raises(LookupError):
        root(8, lambda level, index: None)
    with pytest.raises(LookupError):
        root(8, lambda level, index: b"not a hash")
    with pytest.raises(LookupError):
        Appender(3, {(1, 0): STORE[(1, 0)]})


# --- Appending ----------------------------------------------------------------------------------

def test_appender_creates_exactly_the_newly_perfect_nodes_with_naive_hashes_for_every_size_up_to_70() -> None:
    appender = Appender()
    for size in range(70):
        created = appender.append(LEAVES[size])
        assert created[0] == (0, size, LEAVES[size])
        assert {(level, index) for level, index, _ in created} == perfect_nodes(size + 1) - perfect_nodes(size)
        for level, index, h in created:
            assert h == ref_mth(LEAVES[index << level:(index + 1) << level])
        assert appender.size == size + 1
        assert appender.root() == ROOTS[size + 1]


def test_appender_resumed_from_stored_nodes_reads_only_the_frontier_and_continues_identically() -> None:
    for size in range(71):
        recorder = Recorder(STORE)
        appender = Appender(size, recorder)
        assert recorder.read == set(Appender.frontier_nodes(size))
        assert len(Appender.frontier_nodes(size)) == bin(size).count("1")
        assert appender.root() == ROOTS[size]
        for i in range(size, size + 9):
            for level, index, h in appender.append(LEAVES[i]):
                assert STORE[(level, index)] == h
            assert appender.root() == ROOTS[i + 1]
    from_dict = Appender(37, {node: STORE[node] for node in Appender.frontier_nodes(37)})
    assert from_dict.root() == ROOTS[37]
    assert [(level, index) for level, index, _ in from_dict.frontier()] == Appender.frontier_nodes(37)


def test_streaming_root_keeps_log_n_hashes_and_yields_every_stored_node_and_checkpoint_root() -> None:
    stream = StreamingRoot()
    checkpoints = {1, 2, 3, 64, 1000, 2049, MAX}
    seen = set()
    for size, h in enumerate(LEAVES, start=1):
        for level, index, node in stream.append(h):
            assert STORE[(level, index)] == node
            seen.add((level, index))
        assert len(stream.frontier()) == bin(size).count("1") <= size.bit_length()
        if size in checkpoints:
            assert stream.root() == root(size, STORE)
    assert seen == set(STORE)


def test_appender_sustains_well_over_5000_appends_per_second() -> None:
    appender, leaves = Appender(), LEAVES * 5
    started = time.perf_counter()
    for h in leaves:
        appender.append(h)
    rate = len(leaves) / (time.perf_counter() - started)
    assert rate > 10_000, f"{rate:.0f} appends/s"


# --- The stand-alone offline verifier -----------------------------------------------------------

ORIGIN = "psp.example/audit"


class SignedLog:
    """A log of 13 entries built with the library, signed like the portal signs checkpoints."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        other = Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.keys = {"items": [{"key_id": "k1", "public_key": base64.b64encode(raw).decode()},
                               {"key_id": "k0-retired", "public_key": base64.b64encode(other).decode()}]}
        self.data = [json.dumps(["psp-audit-v1", f"uid{i}", "login", i]).encode() for i in range(13)]
        self.store: dict[tuple[int, int], bytes] = {}
        appender = Appender()
        for d in self.data:
            self.store.update(((level, index), h) for level, index, h in appender.append(leaf_hash(d)))

    def sign(self, text: str) -> str:
        return base64.b64encode(self.key.sign(text.encode())).decode()

    def checkpoint(self, size: int, text: str | None = None, tree_root: bytes | None = None) -> dict[str, Any]:
        """A checkpoint of ``size`` leaves, validly signed (over ``text`` if given; for another root
        if given, as a forked log would sign)."""
        tree_root = root(size, self.store) if tree_root is None else tree_root
        text = f"{ORIGIN}\n{size}\n{base64.b64encode(tree_root).decode()}\n" if text is None else text
        return {"tree_size": size, "root_hash": tree_root.hex(), "key_id": "k1",
                "signed_text": text, "signature": self.sign(text)}

    def page(self, size: int = 13, indices: tuple[int, ...] = (0, 5, 12)) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {"id": 100 + i, "action": "login", "leaf": base64.b64encode(self.data[i]).decode(), "leaf_index": i,
             "tree_size": size, "inclusion_proof": [p.hex() for p in inclusion_proof(i, size, self.store)]}
            for i in indices]
        items.append({"id": 999, "action": "logout", "leaf": base64.b64encode(b"later").decode(),
                      "leaf_index": None, "tree_size": None, "inclusion_proof": None})
        return {"checkpoint": self.checkpoint(size), "items": items}

    def consistency(self, m: int, n: int) -> dict[str, Any]:
        return {"from": m, "to": n, "proof": [p.hex() for p in consistency_proof(m, n, self.store)]}


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return SignedLog()


def statuses(checks: list[Any]) -> list[str]:
    return [check.status for check in checks]


def test_tool_passes_a_genuine_checkpoint_entries_page_and_consistency_proof(log: SignedLog) -> None:
    assert statuses(tool.verify_checkpoint(log.checkpoint(13), log.keys)) == ["PASS", "PASS"]
    assert statuses(tool.verify_entries(log.page(), log.keys)) == ["PASS", "PASS", "PASS", "PASS", "PASS", "WAIT"]
    assert statuses(tool.verify_consistency_file(log.consistency(7, 13), log.checkpoint(7), log.checkpoint(13))) \
        == ["PASS"]


def test_tool_fails_a_tampered_leaf_but_only_waits_on_unsealed_entries(log: SignedLog) -> None:
    page = log.page()
    page["items"][1]["leaf"] = base64.b64encode(log.data[5] + b" ").decode()
    assert statuses(tool.verify_entries(page, log.keys)) == ["PASS", "PASS", "PASS", "FAIL", "PASS", "WAIT"]


def test_tool_fails_an_entry_proved_against_another_tree_size_than_its_checkpoint(log: SignedLog) -> None:
    page = log.page(12, indices=(0,))
    page["checkpoint"] = log.checkpoint(13)
    assert statuses(tool.verify_entries(page, log.keys)) == ["PASS", "PASS", "FAIL", "WAIT"]
    page = log.page(3, indices=(0,))
    page["items"][0]["tree_size"] = 4  # RFC 9162's algorithm alone would accept this proof (see above)
    assert statuses(tool.verify_entries(page, log.keys)) == ["PASS", "PASS", "FAIL", "WAIT"]


def test_tool_fails_a_tampered_signature_a_wrong_or_unknown_key_and_an_extra_signed_line(log: SignedLog) -> None:
    cp = log.checkpoint(13)
    signature = base64.b64decode(cp["signature"])
    assert statuses(tool.verify_checkpoint(
        dict(cp, signature=base64.b64encode(flipped(signature, 10)).decode()), log.keys))[0] == "FAIL"
    assert statuses(tool.verify_checkpoint(dict(cp, key_id="k0-retired"), log.keys))[0] == "FAIL"
    assert statuses(tool.verify_checkpoint(dict(cp, key_id="nobody"), log.keys))[0] == "FAIL"
    extra = log.checkpoint(13, cp["signed_text"] + "extension line\n")  # validly signed, but four lines
    assert statuses(tool.verify_checkpoint(extra, log.keys)) == ["PASS", "FAIL"]


def test_tool_fails_a_checkpoint_whose_signed_text_states_another_size_or_root(log: SignedLog) -> None:
    cp12, cp13 = log.checkpoint(12), log.checkpoint(13)
    assert statuses(tool.verify_checkpoint(dict(cp13, signed_text=cp12["signed_text"],
                                                 signature=cp12["signature"]), log.keys)) == ["PASS", "FAIL"]
    assert statuses(tool.verify_checkpoint(dict(cp13, root_hash=cp12["root_hash"]), log.keys)) == ["PASS", "FAIL"]


def test_tool_fails_a_tampered_or_mismatched_consistency_proof(log: SignedLog) -> None:
    proof = log.consistency(7, 13)
    proof["proof"][0] = flipped(bytes.fromhex(proof["proof"][0]), 0).hex()
    assert statuses(tool.verify_consistency_file(proof, log.checkpoint(7), log.checkpoint(13))) == ["FAIL"]
    assert statuses(tool.verify_consistency_file(log.consistency(6, 13), log.checkpoint(7), log.checkpoint(13))) \
        == ["FAIL"]
    assert statuses(tool.verify_consistency_file({"from": 7}, log.checkpoint(7), log.checkpoint(13))) == ["FAIL"]
    genuine_but_mislabelled = dict(log.consistency(7, 13), to=14)
    assert statuses(tool.verify_consistency_file(genuine_but_mislabelled, log.checkpoint(7), log.checkpoint(13))) \
        == ["FAIL"]


def test_tool_reports_malformed_fields_as_failures_instead_of_crashing(log: SignedLog) -> None:
    cp = log.checkpoint(13)
    for broken in ({k: v for k, v in cp.items() if k != "signature"}, dict(cp, tree_size="13"),
                   dict(cp, root_hash=cp["root_hash"][:-2]), dict(cp, signed_text=13),
                   dict(cp, signed_text="\ud800"), dict(cp, signature="!!"), dict(cp, key_id=None), [], None):
        assert "FAIL" in statuses(tool.verify_checkpoint(broken, log.keys)), broken
    genuine = log.page()["items"][0]
    for item in (dict(genuine, leaf_index="0"), dict(genuine, leaf="not base64!"), dict(genuine, inclusion_proof=""),
                 dict(genuine, inclusion_proof=[1]), dict(genuine, tree_size=None), "item", {}):
        assert statuses(tool.verify_entries(dict(log.page(), items=[item]), log.keys))[-1] == "FAIL", item


def test_tool_imports_nothing_but_the_standard_library_and_cryptography() -> None:
    allowed = {"__future__", "argparse", "base64", "binascii", "hashlib", "json", "re", "sys", "typing",
               "cryptography"}
    modules = set()
    for node in ast.walk(ast.parse(TOOL_PATH.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules <= allowed, modules - allowed


@pytest.fixture()
def cli(tmp_path: Path, log: SignedLog) -> Any:
    """Runs a copy of the tool outside the repository on files written from the given documents."""
    copy = tmp_path / "verify_audit_proof.py"
    shutil.copy(TOOL_PATH, copy)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(**documents: Any) -> subprocess.CompletedProcess[str]:
        documents = {"keys": log.keys, "checkpoint": log.checkpoint(13), **documents}
        args = [sys.executable, str(copy)]
        for name, doc in documents.items():
            path = tmp_path / f"{name}.json"
            path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
            args += [f"--{name.replace('_', '-')}", str(path)]
        return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    return run


def test_cli_exits_0_when_every_check_passes(cli: Any, log: SignedLog) -> None:
    result = cli(entries=log.page(), consistency=log.consistency(7, 13), old_checkpoint=log.checkpoint(7))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert "not yet sealed" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("OK")


def _tampered_leaf(log: SignedLog) -> dict[str, Any]:
    page = log.page()
    page["items"][0]["leaf"] = base64.b64encode(b"[]").decode()
    return page


def _failing(log: SignedLog, case: str) -> dict[str, Any]:
    cp = log.checkpoint(13)
    if case == "tampered leaf":
        return {"entries": _tampered_leaf(log)}
    if case == "tampered signature":
        return {"checkpoint": dict(cp, signature=log.sign(cp["signed_text"] + "x"))}
    if case == "extra signed line":
        return {"checkpoint": log.checkpoint(13, cp["signed_text"] + "\n")}
    if case == "wrong key id":
        return {"checkpoint": dict(cp, key_id="k2")}
    # An entries page (nothing sealed on it) whose checkpoint is validly signed for the same size
    # as --checkpoint, with another root: the log has shown two different trees.
    page = log.page(indices=())
    return {"entries": dict(page, checkpoint=log.checkpoint(13, tree_root=root(12, log.store)))}


@pytest.mark.parametrize("case", ["tampered leaf", "tampered signature", "extra signed line", "wrong key id",
                                  "two roots for one size"])
def test_cli_exits_1_when_a_check_fails(cli: Any, log: SignedLog, case: str) -> None:
    result = cli(**_failing(log, case))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("FAILED")
    assert len([line for line in result.stdout.splitlines() if line.startswith("FAIL ")]) == 1


def test_cli_exits_2_on_unreadable_input(cli: Any, tmp_path: Path) -> None:
    assert cli(checkpoint="{not json").returncode == 2
    assert cli(keys={"items": [{"key_id": "k1", "public_key": "too-short"}]}).returncode == 2
    assert cli(entries=["not", "a", "page"]).returncode == 2
    assert cli().returncode == 0
    (tmp_path / "checkpoint.json").unlink()
    args = [sys.executable, str(tmp_path / "verify_audit_proof.py"), "--keys", str(tmp_path / "keys.json"),
            "--checkpoint", str(tmp_path / "checkpoint.json")]
    assert subprocess.run(args, capture_output=True, timeout=60).returncode == 2
    assert subprocess.run(args[:4] + ["--consistency", "x.json"], capture_output=True, timeout=60).returncode == 2
