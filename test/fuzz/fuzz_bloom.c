/*-------------------------------------------------------------------------
 *
 * fuzz_bloom.c
 *	  libFuzzer target: the bloom filter reader (src/format/bloom.c), fed
 *	  the bytes a stats binlog's filter column holds, its checksum made
 *	  right (reseal.h).  A filter that is accepted is probed with keys, as
 *	  routing deletes does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "format/bloom.h"

#include "reseal.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* One input: deserialize, then probe. */
int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	uint8	   *bytes;

	ShimBegin();
	bytes = palloc(Max(size, 1));
	memcpy(bytes, data, size);
	ResealBloom(bytes, size);
	PG_TRY();
	{
		SsBloom    *bloom = SsBloomDeserialize((const char *) bytes, size, "fuzz.stats");
		int64		hits = 0;

		for (int64 key = -64; key < 64; key++)
			hits += SsBloomMightContain(bloom, key * 7919);
		hits += SsBloomMightContain(bloom, PG_INT64_MIN) + SsBloomMightContain(bloom, PG_INT64_MAX);
		(void) hits;
	}
	PG_CATCH();
	{
		ShimCheckError(true);
	}
	PG_END_TRY();
	ShimEnd();
	return 0;
}
