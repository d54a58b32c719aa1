/*-------------------------------------------------------------------------
 *
 * kmeans.h
 *	  k-means training of vector index centroids, and assignment of vectors
 *	  to their nearest centroid.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_VECTOR_KMEANS_H
#define SEGSTORE_VECTOR_KMEANS_H

#include "vector/distance.h"

/*
 * Trains k centroids (written to centroids, k*dim floats) on n vectors
 * (n*dim floats, k <= n).  Uses a deterministic sample of at most max_sample
 * vectors (seeded by seed), k-means++ seeding, then at most iterations
 * Lloyd iterations (stops early when assignments stop changing).  For
 * SS_METRIC_IP and SS_METRIC_COSINE, assignment uses the metric's distance
 * and centroids are re-normalised for COSINE (spherical k-means).  Empty
 * clusters are re-seeded by splitting the largest.
 */
extern void SsKMeansTrain(const float *vectors, int64 n, int dim, int k,
						  SsMetric metric, int iterations, int64 max_sample,
						  uint64 seed, float *centroids);

/* Writes to assign[i] the index of the nearest of k centroids to vector i. */
extern void SsKMeansAssign(const float *centroids, int k,
						   const float *vectors, int64 n, int dim,
						   SsMetric metric, int32 *assign);

#endif							/* SEGSTORE_VECTOR_KMEANS_H */
