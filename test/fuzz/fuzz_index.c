/*-------------------------------------------------------------------------
 *
 * fuzz_index.c
 *	  libFuzzer target: the index file reader (src/format/ivffile.c).  The
 *	  input, its checksums made right (reseal.h), is written as a file,
 *	  mapped and checked by SsIvfMap; a file it accepts is then walked as
 *	  a search walks it (every list's entries, their vectors, their rows'
 *	  keys and timestamps, the centroids), and its header read alone as
 *	  garbage collection reads it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "format/ivffile.h"

#include "reseal.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* Touch every section as a search would; returns a sum to keep it. */
static double
Walk(const SsIvfData *d)
{
	double		sum = 0;

	for (int l = 0; l < d->nlist; l++)
	{
		for (int k = 0; k < d->dim; k++)
			sum += d->centroids[(int64) l * d->dim + k];
		for (uint64 e = d->list_offsets[l]; e < d->list_offsets[l + 1]; e++)
		{
			int32		row = d->rows[e];

			for (int k = 0; k < d->dim; k++)
				sum += d->vectors[e * d->dim + k];
			sum += (double) d->keys[row] + (double) d->timestamps[row];
		}
	}
	return sum;
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	uint8	   *file = malloc(Max(size, 1));
	const char *path;

	memcpy(file, data, size);
	ResealIndex(file, size);
	path = ShimWriteFile(file, size);
	free(file);
	ShimBegin();
	PG_TRY();
	{
		uint64		xid;
		SsIndexType type;
		bool		missing;
		SsIvfFile  *f;
		volatile double sum;

		(void) SsIvfPeekHeader(path, &xid, &type, &missing);
		f = SsIvfMap(path, CurrentMemoryContext);
		sum = Walk(&f->data);
		(void) sum;
		SsIvfUnmap(f, false);
	}
	PG_CATCH();
	{
		ShimCheckError(true);
	}
	PG_END_TRY();
	ShimEnd();
	return 0;
}
