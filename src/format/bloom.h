/*-------------------------------------------------------------------------
 *
 * bloom.h
 *	  Bloom filters over int64 keys, used as per-segment primary-key
 *	  statistics so that deletes can be routed without reading data.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_BLOOM_H
#define SEGSTORE_FORMAT_BLOOM_H

/* A Bloom filter of nbits bits probed nhashes times per key. */
typedef struct SsBloom
{
	uint32		nbits;
	uint32		nhashes;
	uint8	   *bits;
} SsBloom;

/*
 * Build a filter sized for nkeys keys at false-positive rate fpr (for
 * example 0.01) and add the keys.  nkeys may be 0.
 */
extern SsBloom *SsBloomBuild(const int64 *keys, int64 nkeys, double fpr);

/* False means key was certainly not added; true means it probably was. */
extern bool SsBloomMightContain(const SsBloom *bloom, int64 key);

/* Stable on-disk bytes of a filter, including nbits and nhashes. */
extern void SsBloomSerialize(const SsBloom *bloom, char **data, Size *len);

/*
 * Rebuild a filter from SsBloomSerialize's bytes, rejecting damaged ones
 * as corruption of the file at path.
 */
extern SsBloom *SsBloomDeserialize(const char *data, Size len, const char *path);

#endif							/* SEGSTORE_FORMAT_BLOOM_H */
