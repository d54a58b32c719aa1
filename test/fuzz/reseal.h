/*-------------------------------------------------------------------------
 *
 * reseal.h
 *	  Make the checksums of a fuzzed file right before a reader sees it.
 *
 * A hostile file has right checksums: whoever can write the file can
 * compute them.  Random mutations almost never do, so without this the
 * readers would reject nearly every input at the first CRC and the fuzzer
 * would never reach what lies behind it.  Each function recomputes what
 * the format (documented in binlog.c, ivffile.c, bloom.c) says is
 * checksummed, where the bytes it needs are there, and leaves the rest.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FUZZ_RESEAL_H
#define SEGSTORE_FUZZ_RESEAL_H

#include "port/pg_crc32c.h"

/* CRC32C as segstore computes it. */
static inline uint32
ResealCrc(const uint8 *p, size_t n)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, p, n);
	FIN_CRC32C(crc);
	return crc;
}

static inline uint64
ResealGet64(const uint8 *p)
{
	uint64		v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32
ResealGet32(const uint8 *p)
{
	uint32		v;

	memcpy(&v, p, 4);
	return v;
}

static inline void
ResealPut32(uint8 *p, uint32 v)
{
	memcpy(p, &v, 4);
}

/* A binlog: header CRC, each block's CRC in the footer, the footer's CRC. */
static inline void
ResealBinlog(uint8 *f, size_t size)
{
	uint64		foff;
	uint64		flen;
	uint8	   *footer;
	size_t		pos = 0;
	uint32		ncols;

	if (size < 40)
		return;
	ResealPut32(f + 36, ResealCrc(f, 36));
	ncols = ResealGet32(f + 32);
	if (size < 60)
		return;
	foff = ResealGet64(f + size - 20);
	flen = ResealGet64(f + size - 12);
	if (flen < 4 || foff > size || flen > size - foff)
		return;
	footer = f + foff;
	for (uint32 c = 0; c < ncols && pos + 12 <= flen - 4; c++)
	{
		uint32		nblocks = ResealGet32(footer + pos + 8);

		pos += 12;
		for (uint32 b = 0; b < nblocks && pos + 44 <= flen - 4; b++)
		{
			uint64		off = ResealGet64(footer + pos);
			uint64		csize = ResealGet64(footer + pos + 8);

			if (off <= size && csize <= size - off)
				ResealPut32(footer + pos + 40, ResealCrc(f + off, csize));
			pos += 44;
		}
	}
	ResealPut32(footer + flen - 4, ResealCrc(footer, flen - 4));
}

/* An index file: the header's CRC and the body's. */
static inline void
ResealIndex(uint8 *f, size_t size)
{
	if (size < 64)
		return;
	ResealPut32(f + 52, ResealCrc(f + 64, size - 64));
	ResealPut32(f + 60, ResealCrc(f, 60));
}

/* A serialized bloom filter: the CRC at its end. */
static inline void
ResealBloom(uint8 *f, size_t size)
{
	if (size < 4)
		return;
	ResealPut32(f + size - 4, ResealCrc(f, size - 4));
}

#endif							/* SEGSTORE_FUZZ_RESEAL_H */
