// File access for table files. Locations are absolute paths or file:// URIs:
// the writer works on a local (or mounted) file system; object stores are
// reached through a REST catalog whose warehouse is mounted, not by this code.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The local path of a table location or file location. */
export function localPath(location: string): string {
  if (location.startsWith('file:')) return fileURLToPath(location.replace(/^file:\/(?!\/)/, 'file:///'));
  if (isAbsolute(location)) return location;
  throw new Error(`location "${location}" is not a local path or file:// URI; only local and mounted file systems are supported`);
}

/** `child` under `location`, keeping the location's form (path or URI). */
export function childLocation(location: string, child: string): string {
  return `${location.replace(/\/+$/, '')}/${child}`;
}

export function readLocation(location: string): Promise<Buffer> {
  return readFile(localPath(location));
}

async function writeSynced(path: string, bytes: Uint8Array, flags: number): Promise<void> {
  const fh = await open(path, flags, 0o644);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a new immutable file (its name is unique), synced before returning. */
export async function writeNewFile(location: string, bytes: Uint8Array): Promise<void> {
  const path = localPath(location);
  await mkdir(dirname(path), { recursive: true });
  await writeSynced(path, bytes, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
}

/**
 * Creates `path` with `bytes` atomically and only if it does not exist:
 * written to a temporary name, then hard-linked into place (link fails when
 * the name is taken, so two writers can never both create it). Returns false
 * when the name was taken.
 */
export async function createExclusive(path: string, bytes: Uint8Array): Promise<boolean> {
  const tmp = join(dirname(path), `.tmp-${randomUUID()}`);
  await writeSynced(tmp, bytes, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Replaces `path` atomically (write a temporary file, rename over). */
export async function replaceAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.tmp-${randomUUID()}`);
  await writeSynced(tmp, bytes, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  await rename(tmp, path);
}

export async function deleteLocation(location: string): Promise<void> {
  await rm(localPath(location), { force: true });
}
