"""The journal: what a restart replays, and what it must not."""
import json
import os
import time

from segment_statsig.storage.journal import Journal
from segment_statsig.storage.records import read_records


def lines(n, start=0, width=40):
    return [(f'["track",{i}' + " " * width + "]\n").encode() for i in range(start, start + n)]


def replayed(directory):
    """Every line a new Journal on `directory` gives the worker (without their newlines)."""
    journal = Journal(directory)
    out = []
    while True:
        taken = journal.take(1000)
        if not taken:
            return out
        out.extend(taken)


def bare(many):
    return [line.rstrip(b"\n") for line in many]


def test_unprocessed_lines_replay_after_a_restart(tmp_path):
    journal = Journal(tmp_path)
    for line in lines(5):
        journal.append(line)
    assert journal.take(2) == bare(lines(2))
    journal.mark_done()
    assert replayed(tmp_path) == bare(lines(3, start=2))  # as after kill -9: no close, no sync


def test_done_records_are_zeroed_so_the_file_alone_says_what_is_left(tmp_path):
    journal = Journal(tmp_path)
    for line in lines(10):
        journal.append(line)
    journal.take(4)
    journal.mark_done()
    data = (tmp_path / "journal").read_bytes()
    first = data.index(b"[")
    assert data[:first] == bytes(first) and first == sum(map(len, lines(4)))
    (tmp_path / "journal.pos").unlink()  # without the marker, nothing done comes back
    assert replayed(tmp_path) == bare(lines(6, start=4))


def test_all_done_starts_over_and_leaves_no_stale_records(tmp_path):
    journal = Journal(tmp_path)
    for line in lines(50, width=200):
        journal.append(line)
    journal.take(100)
    journal.mark_done()
    assert journal.size == journal.done == 0
    assert (tmp_path / "journal").read_bytes().strip(b"\0") == b""
    for line in lines(2, start=100):  # fewer bytes than before: old records must not show through
        journal.append(line)
    assert replayed(tmp_path) == bare(lines(2, start=100))


def test_a_torn_last_record_is_ignored_and_erased(tmp_path, log_records):
    journal = Journal(tmp_path)
    for line in lines(3):
        journal.append(line)
    torn = b'["track",99,' + b"x" * 100  # a call killed mid-copy: longer than the next line
    journal.map[journal.size:journal.size + len(torn)] = torn
    again = Journal(tmp_path)
    assert "unterminated last record of 112 bytes" in log_records.text
    log_records.clear()
    again.append(lines(1, start=7)[0])
    assert replayed(tmp_path) == bare(lines(3) + lines(1, start=7))
    assert "unterminated" not in log_records.text  # no leftover of the torn bytes after the new line


def test_grows_past_its_first_allocation_then_gives_the_disk_back(tmp_path):
    journal = Journal(tmp_path)
    many = lines(5000, width=100)
    for line in many:
        journal.append(line)
    assert journal.capacity >= sum(map(len, many))
    assert replayed(tmp_path) == bare(many)
    assert os.stat(tmp_path / "journal").st_mode & 0o777 == 0o600
    while journal.take(500):
        journal.mark_done()
    assert os.stat(tmp_path / "journal").st_size == 256 * 1024  # back to its first allocation


def test_one_line_longer_than_a_pass_reads_whole(tmp_path):
    journal = Journal(tmp_path)
    long_line = b'["track",1' + b" " * 3_000_000 + b"]\n"
    for line in lines(2) + [long_line] + lines(2, start=5):
        journal.append(line)
    assert replayed(tmp_path) == bare(lines(2) + [long_line] + lines(2, start=5))


def test_unusable_folder_keeps_lines_in_memory(tmp_path, log_records):
    missing = tmp_path / "not-a-folder"
    missing.write_text("a file")
    journal = Journal(missing)
    journal.append(lines(1)[0])
    assert journal.take(10) == lines(1)
    assert "not durable" in log_records.text


def test_a_journal_in_memory_is_bounded_and_says_what_it_dropped(tmp_path, log_records, monkeypatch):
    from segment_statsig.storage import journal as module

    monkeypatch.setattr(module, "MEMORY_MAX_LINES", 100)
    journal = Journal(None)
    for line in lines(250):
        journal.append(line)
    assert journal.take(1000) == lines(100, start=150)
    assert "dropped the 150 oldest events" in log_records.text


def test_grows_by_writing_zeros_where_fallocate_is_missing(tmp_path, monkeypatch):
    monkeypatch.delattr("os.posix_fallocate")  # as on platforms without it
    journal = Journal(tmp_path)
    many = lines(3000, width=100)
    for line in many:
        journal.append(line)
    assert os.stat(tmp_path / "journal").st_blocks * 512 >= journal.capacity  # allocated, not sparse
    assert replayed(tmp_path) == bare(many)


GOOD = b'["track",1.5,"%032x","a",null,{"event":"E%d"},null,null]'


def test_a_kernel_that_refuses_to_release_pages_costs_memory_not_durability(tmp_path, monkeypatch):
    # Giving pages back (madvise) is only about RSS: where it is refused, the journal
    # must keep writing to its file, not fall back to memory (not durable).
    import mmap
    import types

    from segment_statsig.storage import journal as journal_module

    class Refusing(mmap.mmap):
        def madvise(self, *args):
            raise OSError(22, "madvise refused")

    fake = types.SimpleNamespace(mmap=Refusing, **{k: getattr(mmap, k) for k in dir(mmap) if k.isupper()})
    monkeypatch.setattr(journal_module, "mmap", fake)
    journal = Journal(tmp_path)
    written = lines(30_000, width=400)  # 12 MB: three release points, and the file grows
    for line in written:
        journal.append(line)
    assert isinstance(journal.map, Refusing) and not journal.spilled and not journal.memory
    taken = []
    while journal.pending:
        taken += journal.take(1000)
        journal.mark_done()
    assert taken == bare(written) and not journal.memory
    journal.close()


def test_read_records_keeps_every_good_record_around_a_bad_one():
    lines_ = [GOOD % (1, 1), b'["track",1.5,"0",', GOOD % (2, 2), b'1,2', b'{"not":"a list"}',
              b'["too","short"]', b'\xff\xfe', GOOD % (3, 3)]
    records, damage = read_records(lines_)
    assert [r[5]["event"] for r in records] == ["E1", "E2", "E3"]
    assert damage.lines == 5 and "not JSON" in str(damage) and "not a record" in str(damage)
    # A pass of good lines is parsed whole and gives the same records as line by line.
    many = [GOOD % (i, i) for i in range(50)]
    records, damage = read_records(many)
    assert records == [json.loads(line) for line in many] and not damage
    # Two torn lines that would join into one valid array element are still two bad lines.
    records, damage = read_records([b'["track",1,', b'"x","a",null,{},null,null]'])
    assert records == [] and damage.lines == 2


def test_read_records_finds_whole_records_inside_damage():
    a, b, c = GOOD % (1, 1), GOOD % (2, 2), GOOD % (3, 3)
    glued = a + b"\0\0\0" + b  # the newline between them overwritten
    garbled = b"\x8f\x00junk" + c  # a record whose start the damage spared
    inner = b'["track",1,"x",' + b'{"list":["track","not","a","record","x","y","z","w"]}'  # a nested list is no record
    records, damage = read_records([glued, garbled, inner, GOOD % (4, 4)])
    assert [r[5]["event"] for r in records] == ["E1", "E2", "E3", "E4"]
    assert damage.lines == 3 and "NUL bytes" in str(damage)
    assert damage.bytes == 3 + 6 + len(inner)


def test_non_ascii_bytes_inside_a_record_are_damage_even_when_they_would_decode():
    record = GOOD % (1, 1)
    hit = record.replace(b'"E1"', b'"E\xc3\xa9"')  # valid UTF-8, but the journal is written in ASCII
    records, damage = read_records([hit, GOOD % (2, 2)])
    assert [r[5]["event"] for r in records] == ["E2"]
    assert damage.lines == 1


def left_over(directory, *names):
    """Journal lines an earlier run left unprocessed (it was killed before its first pass)."""
    journal = Journal(directory)
    for name in names:
        journal.append(b'["track",%r,"%032x","anon-1",null,{"event":"%s","properties":{}},null,null]\n'
                       % (time.time(), os.getpid(), name.encode()))


def test_leftovers_wait_for_destinations_added_during_the_grace_then_go_without_a_call(tmp_path, monkeypatch):
    from segment_statsig import Analytics
    from segment_statsig.analytics import worker

    from .test_analytics_core import Capture

    left_over(tmp_path, "Application Installed", "Application Opened")
    monkeypatch.setattr(worker, "GRACE", 0.6)
    again = Analytics(storage_dir=tmp_path)
    try:
        time.sleep(0.4)
        early = again.add(Capture("Early"))
        time.sleep(0.4)  # past the first grace: the add() above pushed it back
        late = again.add(Capture("Late"))
        assert not early.got.is_set() and not late.got.is_set()
        assert late.got.wait(5) and early.got.wait(5)  # no call, no flush
        time.sleep(0.1)
        for capture in (early, late):
            assert [e["event"] for e in capture.events] == ["Application Installed", "Application Opened"]
    finally:
        again.shutdown(2)


def test_no_grace_processing_without_a_destination(tmp_path, monkeypatch):
    from segment_statsig import Analytics
    from segment_statsig.analytics import worker

    from .test_analytics_core import Capture

    left_over(tmp_path, "Left Over")
    monkeypatch.setattr(worker, "GRACE", 0.1)
    again = Analytics(storage_dir=tmp_path)
    try:
        time.sleep(0.5)  # nothing to give the events to: they stay in the journal
        assert again.journal.pending
        capture = again.add(Capture())
        assert capture.got.wait(5)
    finally:
        again.shutdown(2)
