"""The journal: what a restart replays, and what it must not."""
import json
import os

from segment_statsig.storage.journal import Journal


def lines(n, start=0, width=40):
    return [(f'["track",{i}' + " " * width + "]\n").encode() for i in range(start, start + n)]


def test_unprocessed_lines_replay_after_a_restart(tmp_path):
    journal = Journal(tmp_path)
    for line in lines(5):
        journal.append(line)
    taken = journal.take(2)
    journal.mark_done(sum(map(len, taken)))
    again = Journal(tmp_path)  # as after kill -9: no close, no sync
    assert list(again.pending) == lines(3, start=2)


def test_all_done_starts_over_and_leaves_no_stale_records(tmp_path):
    journal = Journal(tmp_path)
    for line in lines(50, width=200):
        journal.append(line)
    journal.mark_done(sum(map(len, journal.take(100))))
    assert journal.size == journal.done == 0
    for line in lines(2, start=100):  # fewer bytes than before: old records must not show through
        journal.append(line)
    assert list(Journal(tmp_path).pending) == lines(2, start=100)


def test_a_torn_last_record_is_ignored_and_erased(tmp_path, log_records):
    journal = Journal(tmp_path)
    for line in lines(3):
        journal.append(line)
    torn = b'["track",99,' + b"x" * 100  # a call killed mid-copy: longer than the next line
    journal.map[journal.size:journal.size + len(torn)] = torn
    again = Journal(tmp_path)
    assert list(again.pending) == lines(3)
    assert "torn last record" in log_records.text
    log_records.clear()
    again.append(lines(1, start=7)[0])
    assert list(Journal(tmp_path).pending) == lines(3) + lines(1, start=7)
    assert "torn" not in log_records.text  # no leftover of the torn bytes after the new line


def test_grows_past_its_first_allocation(tmp_path):
    journal = Journal(tmp_path)
    many = lines(5000, width=100)
    for line in many:
        journal.append(line)
    assert journal.capacity >= sum(map(len, many))
    assert list(Journal(tmp_path).pending) == many
    assert os.stat(tmp_path / "journal").st_mode & 0o777 == 0o600


def test_unusable_folder_keeps_lines_in_memory(tmp_path, log_records):
    missing = tmp_path / "not-a-folder"
    missing.write_text("a file")
    journal = Journal(missing)
    journal.append(lines(1)[0])
    assert list(journal.pending) == lines(1)
    assert "not durable" in log_records.text


def test_grows_by_writing_zeros_where_fallocate_is_missing(tmp_path, monkeypatch):
    monkeypatch.delattr("os.posix_fallocate")  # as on platforms without it
    journal = Journal(tmp_path)
    many = lines(3000, width=100)
    for line in many:
        journal.append(line)
    assert os.stat(tmp_path / "journal").st_blocks * 512 >= journal.capacity  # allocated, not sparse
    assert list(Journal(tmp_path).pending) == many


def test_decode_lines_keeps_every_good_record_around_a_bad_one():
    from segment_statsig.analytics.events import decode_lines

    good = b'["track",1.5,"%032x","a",null,{"event":"E%d"},null,null]\n'
    lines = [good % (1, 1), b'["track",1.5,"0",\n', good % (2, 2), b'1,2\n', b'{"not":"a list"}\n',
             b'["too","short"]\n', b'\xff\xfe\n', good % (3, 3)]
    records = decode_lines(lines)
    assert len(records) == len(lines)
    assert [r and r[5]["event"] for r in records] == ["E1", None, "E2", None, None, None, None, "E3"]
    # A pass of good lines is parsed whole and gives the same records as line by line.
    many = [good % (i, i) for i in range(50)]
    assert decode_lines(many) == [json.loads(line) for line in many]
    # Two torn lines that would join into one valid array element are still two bad lines.
    assert decode_lines([b'["track",1,\n', b'"x","a",null,{},null,null]\n']) == [None, None]
