"""Issue 10 item 9: a corrupt chunk checkpoint is regenerated (same seed, same rows), never fatal."""

from __future__ import annotations

from magpie_fixtures import demo_model_path  # noqa: F401  (fixture)
from test_stages import instructions

from factory.magpie.checkpoints import ChunkCheckpoints


def test_a_chunk_cut_mid_line_or_garbled_is_not_done(tmp_path):
    checkpoints = ChunkCheckpoints(tmp_path, rank=0)
    records = [{"index": i, "text": f"galdera {i}"} for i in range(3)]
    checkpoints.save(0, records)
    assert checkpoints.load(0) == records
    path = checkpoints.path(0)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # cut mid-line
    assert checkpoints.load(0) is None
    path.write_bytes(whole[:-1])  # cut just before the last newline: still not whole
    assert checkpoints.load(0) is None
    path.write_bytes(b"\xff\xfe not utf-8\n")
    assert checkpoints.load(0) is None
    path.write_bytes(b"[1, 2]\n")  # parses, but a record is an object
    assert checkpoints.load(0) is None


def test_truncated_checkpoint_is_regenerated_to_the_same_rows(tmp_path, demo_model_path):
    first = [(d.id, d.text) for d in instructions(tmp_path, "ck").run(None, 0, 1)]
    chunk = tmp_path / "ck" / "00000" / "000001.jsonl"
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2])
    again = instructions(tmp_path, "ck")
    assert [(d.id, d.text) for d in again.run(None, 0, 1)] == first
    assert again.stats["chunks_generated"].total == 1
    assert chunk.read_bytes() == data
