"""A zip writer whose memory stays flat with the number of entries (pure).

``zipfile.ZipFile`` keeps a ``ZipInfo`` per entry (in ``filelist`` and
``NameToInfo``) until ``close()`` writes the central directory from them:
about 400 bytes an entry, 75 MiB for the 200,000 files of a brat export of
100,000 documents.  :class:`CompactZipWriter` packs each entry's
central-directory record as soon as the entry is written, in the very bytes
``close()`` would have written, and forgets its ``ZipInfo``: about 46 bytes
plus the file name an entry.

:meth:`CompactZipWriter.add` also writes an entry in one go: with the whole
file in hand, it compresses it and computes its CRC first, so the local
header is written once, already right, instead of being written, then
rewritten after a seek back (which flushes the file's buffer every entry).

The bytes are those ``ZipFile.writestr`` writes (same headers, compression,
ZIP64 records; ``tests/test_formats_peer.py`` compares them byte for byte).
The records are packed the way the standard library's ``_write_end_record``
(Python 3.11) packs them, with its own structs and constants; they are read
from the ``zipfile`` module at each call, so a test can lower its limits.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import IO
from typing import Any

#: The compressions :meth:`CompactZipWriter.add` writes itself (others go through ``writestr``).
_ONE_GO = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class CompactZipWriter(zipfile.ZipFile):
    """A ``ZipFile`` opened for writing that keeps its central directory as packed bytes.

    Use :meth:`add`; anything else ``ZipFile`` writes with (``writestr``,
    ``write``, ``open(..., "w")``, ``mkdir``) works too, its entries packed
    in order at the next :meth:`add` or at ``close()``.  Names are not kept,
    so a duplicate name is not warned about.  ``infolist()`` and
    ``namelist()`` only list entries not yet packed.
    """

    def __init__(self, file: IO[bytes], compression: int = zipfile.ZIP_DEFLATED, compresslevel: int | None = None) -> None:
        super().__init__(file, "w", compression=compression, compresslevel=compresslevel)
        #: The central-directory records of the entries written so far, as ``close()`` writes them.
        self._directory = bytearray()
        self._entries = 0

    def add(self, zinfo: zipfile.ZipInfo, data: bytes) -> None:
        """Write one file, as ``writestr(zinfo, data)`` does, and keep only its packed central-directory record."""
        if zinfo.compress_type in _ONE_GO and self._seekable:
            crc, size, body = compress(data, zinfo.compress_type, zinfo._compresslevel)
            self.add_compressed(zinfo, crc, size, body)
            return
        self._pack_written()
        # Another compression (or an error to raise): the standard library's own path.
        self.writestr(zinfo, data)
        self._pack_written()

    def add_compressed(self, zinfo: zipfile.ZipInfo, crc: int, size: int, body: bytes) -> None:
        """Write one file given as :func:`compress` made it (its CRC, its size, its compressed bytes), as :meth:`add` would.

        So a file compressed once (and kept, say an export's stored record)
        is written again without compressing it again.
        """
        self._pack_written()
        if not (self._seekable and zinfo.compress_type in _ONE_GO) or self._writing or not self.fp:
            # A stream that cannot seek back (zipfile writes a data descriptor
            # after the data), another compression, or an error to raise:
            # the standard library's own path.
            data = zlib.decompress(body, -15) if zinfo.compress_type == zipfile.ZIP_DEFLATED else body
            self.writestr(zinfo, data)
            self._pack_written()
            return
        # What writestr and _open_to_write set before writing the local header.
        zinfo.file_size = size
        zinfo.flag_bits = 0x00
        if not zinfo.external_attr:
            zinfo.external_attr = 0o600 << 16
        zip64 = zinfo.file_size * 1.05 > zipfile.ZIP64_LIMIT
        if zip64 and not self._allowZip64:
            raise zipfile.LargeZipFile("Filesize would require ZIP64 extensions")
        # What _ZipWriteFile.write and close compute, known before the header rather than after.
        zinfo.compress_size = len(body)
        zinfo.CRC = crc
        if not zip64 and (zinfo.file_size > zipfile.ZIP64_LIMIT or zinfo.compress_size > zipfile.ZIP64_LIMIT):
            raise RuntimeError("File size too large, try using force_zip64")
        with self._lock:
            # The file is always at start_dir here (every write path leaves it there), so no seek.
            zinfo.header_offset = self.start_dir
            self._writecheck(zinfo)
            self._didModify = True
            header = zinfo.FileHeader(zip64)
            self.fp.write(header)
            self.fp.write(body)
            self.start_dir += len(header) + len(body)
            self._directory += _central_record(zinfo)
            self._entries += 1

    def _pack_written(self) -> None:
        """Pack the records of the entries ``ZipFile``'s own methods wrote, and forget their ``ZipInfo``."""
        if self.filelist:
            for zinfo in self.filelist:
                self._directory += _central_record(zinfo)
            self._entries += len(self.filelist)
            self.filelist.clear()
            self.NameToInfo.clear()

    def _write_end_record(self) -> None:
        """Write the central directory and the end records, as ``ZipFile._write_end_record`` does.

        ``close()`` calls this with the file at ``start_dir``.
        """
        self._pack_written()
        fp: Any = self.fp
        fp.write(self._directory)
        self._directory = bytearray()
        pos2 = fp.tell()
        count = self._entries
        size = pos2 - self.start_dir
        offset = self.start_dir
        requires_zip64 = None
        if count > zipfile.ZIP_FILECOUNT_LIMIT:
            requires_zip64 = "Files count"
        elif offset > zipfile.ZIP64_LIMIT:
            requires_zip64 = "Central directory offset"
        elif size > zipfile.ZIP64_LIMIT:
            requires_zip64 = "Central directory size"
        if requires_zip64:
            if not self._allowZip64:
                raise zipfile.LargeZipFile(requires_zip64 + " would require ZIP64 extensions")
            fp.write(struct.pack(zipfile.structEndArchive64, zipfile.stringEndArchive64,
                                 44, 45, 45, 0, 0, count, count, size, offset))
            fp.write(struct.pack(zipfile.structEndArchive64Locator, zipfile.stringEndArchive64Locator, 0, pos2, 1))
            count = min(count, 0xFFFF)
            size = min(size, 0xFFFFFFFF)
            offset = min(offset, 0xFFFFFFFF)
        fp.write(struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive,
                             0, 0, count, count, size, offset, len(self._comment)))
        fp.write(self._comment)
        fp.flush()


def compress(data: bytes, compress_type: int = zipfile.ZIP_DEFLATED, level: int | None = None) -> tuple[int, int, bytes]:
    """Return a file's CRC-32, size and body as a zip entry of ``compress_type`` holds them (what ``_ZipWriteFile`` computes)."""
    if compress_type == zipfile.ZIP_DEFLATED:
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION if level is None else level, zlib.DEFLATED, -15)
        body = compressor.compress(data) + compressor.flush()
    else:
        body = data
    return zlib.crc32(data), len(data), body


def _central_record(zinfo: zipfile.ZipInfo) -> bytes:
    """Return an entry's central-directory record: the body of the loop of ``ZipFile._write_end_record``."""
    dt = zinfo.date_time
    dosdate = (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2]
    dostime = dt[3] << 11 | dt[4] << 5 | (dt[5] // 2)
    extra = []
    if zinfo.file_size > zipfile.ZIP64_LIMIT or zinfo.compress_size > zipfile.ZIP64_LIMIT:
        extra.append(zinfo.file_size)
        extra.append(zinfo.compress_size)
        file_size = 0xFFFFFFFF
        compress_size = 0xFFFFFFFF
    else:
        file_size = zinfo.file_size
        compress_size = zinfo.compress_size
    if zinfo.header_offset > zipfile.ZIP64_LIMIT:
        extra.append(zinfo.header_offset)
        header_offset = 0xFFFFFFFF
    else:
        header_offset = zinfo.header_offset
    extra_data = zinfo.extra
    min_version = 0
    if extra:
        # A ZIP64 field in front of the other extra fields.
        extra_data = zipfile._strip_extra(extra_data, (1,))  # type: ignore[attr-defined]
        extra_data = struct.pack("<HH" + "Q" * len(extra), 1, 8 * len(extra), *extra) + extra_data
        min_version = zipfile.ZIP64_VERSION
    if zinfo.compress_type == zipfile.ZIP_BZIP2:
        min_version = max(zipfile.BZIP2_VERSION, min_version)
    elif zinfo.compress_type == zipfile.ZIP_LZMA:
        min_version = max(zipfile.LZMA_VERSION, min_version)
    extract_version = max(min_version, zinfo.extract_version)
    create_version = max(min_version, zinfo.create_version)
    filename, flag_bits = zinfo._encodeFilenameFlags()
    record = struct.pack(
        zipfile.structCentralDir, zipfile.stringCentralDir, create_version, zinfo.create_system, extract_version,
        zinfo.reserved, flag_bits, zinfo.compress_type, dostime, dosdate, zinfo.CRC, compress_size, file_size,
        len(filename), len(extra_data), len(zinfo.comment), 0, zinfo.internal_attr, zinfo.external_attr,
        header_offset,
    )
    return record + filename + extra_data + zinfo.comment
