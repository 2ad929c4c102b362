/* afile: files that appear whole or not at all. Everything megasim writes
 * (chips, calibration, CSVs, traces, plot data, reports) goes through an
 * afile: written to an unnamed temporary file in the target's directory
 * (Linux O_TMPFILE, so a process killed at any point leaves nothing
 * behind; a named temporary ".NAME.megasim-tmp.PID.N" where the file
 * system has no O_TMPFILE), flushed, synced and renamed into place.
 *
 * What is left to a kill: replacing a file that exists takes two calls
 * (link the finished file under a temporary name, rename it over the
 * target); a kill between them leaves a whole file under the temporary
 * name, and so does a kill while a named temporary is being written. The
 * next afile_open of the same target removes such temporaries of
 * processes that no longer run (process ids of this machine only).
 *
 * Read-modify-write of a shared file (derived chips, calibration) holds
 * afile_lock on the file's directory from the read to the commit, so
 * concurrent writers take turns and none loses another's rows; the lock
 * is an flock on the directory itself, so no lock file is left behind,
 * and the kernel drops it when the process dies.
 *
 * A target that exists and is not a regular file (/dev/null, /dev/full,
 * a pipe) is written directly: it cannot be replaced, and its write
 * errors (ENOSPC) are reported by afile_commit. */
#ifndef MS_AFILE_H
#define MS_AFILE_H

#include <stdio.h>

#include "core/err.h"

typedef struct afile afile;

/* Opens a temporary for path (a symbolic link to a file is followed: the
 * file it names is replaced). Fails with MS_EIO "PATH: cannot write:
 * REASON" when the directory does not exist or cannot be written;
 * nothing is created then. The caller ends *out with afile_commit or
 * afile_abort, exactly once. */
int afile_open(const char *path, afile **out, ms_err *err);

/* The stream to write through (borrowed until commit or abort). Write
 * errors are collected by afile_commit; callers need not check each. */
FILE *afile_stream(afile *af);

/* Flushes, syncs and renames the file into place, then frees af (NULL is
 * a no-op returning MS_OK). Any failure (a write error, a full disk, a
 * directory that went away) returns MS_EIO "PATH: cannot write: REASON",
 * leaves path as it was and removes the temporary. A file this process
 * created (rather than replaced) is remembered for afile_undo. */
int afile_commit(afile *af, ms_err *err);

/* Closes af and removes its temporary: path is left as it was. NULL is a
 * no-op. */
void afile_abort(afile *af);

/* Removes every file that afile_commit created in this process (those
 * that did not exist before it) and that no other process has replaced
 * since, then forgets them: a run that fails after writing some outputs
 * leaves none of the new ones behind. Files it replaced keep their new
 * content (the old one is gone). Safe to call more than once. */
void afile_undo(void);

/* Adds path, a file this process has just created by other means (an
 * image gnuplot drew), to those afile_undo removes. */
void afile_record(const char *path);

/* Forgets the files afile_commit created, without removing them (a run
 * that succeeded, or a test that checks them). */
void afile_forget(void);

/* Takes an exclusive lock on the directory holding path (waiting for
 * another holder), for a read-modify-write of path. *lock_fd is set to
 * the lock's descriptor (-1 on failure). MS_EIO naming the directory if
 * it cannot be opened. Where the file system cannot lock a directory
 * (some NFS mounts), returns MS_OK with *lock_fd -1: unlocked, as
 * before locks. */
int afile_lock(const char *path, int *lock_fd, ms_err *err);

/* Releases a lock of afile_lock; a negative fd is a no-op. */
void afile_unlock(int lock_fd);

#endif
