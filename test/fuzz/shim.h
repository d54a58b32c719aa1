/*-------------------------------------------------------------------------
 *
 * shim.h
 *	  The harness side of the fuzzing shim (shim.c): each input runs
 *	  between ShimBegin and ShimEnd, its errors caught with PG_TRY.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FUZZ_SHIM_H
#define SEGSTORE_FUZZ_SHIM_H

/* A fresh memory context for one input, made current. */
extern void ShimBegin(void);

/*
 * Judge the error just caught: abort (a finding) on an internal error
 * (elog), and for a file reader on anything but damage reported as such
 * (XX001, XX002), a size too large to read (54000) or out of memory.
 */
extern void ShimCheckError(bool file_reader);

/* SQLSTATE and message of the last error. */
extern int	ShimErrorCode(void);
extern const char *ShimErrorMessage(void);

/* Close transient files and free everything the input allocated. */
extern void ShimEnd(void);

/* A private file for file readers to open: its path, written with data. */
extern const char *ShimWriteFile(const uint8 *data, size_t size);

#endif							/* SEGSTORE_FUZZ_SHIM_H */
