import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }).trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/**
 * The firmware's data partition as the rig makes it (root only): an ext4 file system in an image
 * file on a loop device, small enough to fill (`disk-full`) and able to lose power (`powerCut`).
 *
 * The power-cut model: what the file system has handed to the block device is in the image file;
 * what is still only in the page cache (written, not fsynced, not yet written back) is not. A
 * copy of the image taken the moment every writer is dead is therefore the disk as a power cut
 * would leave it; mounting that copy replays ext4's journal exactly as a board's boot would. It
 * does not model a drive reordering writes in its own cache (the board's eMMC honours flushes).
 */
export class LoopDisk {
  private device: string | null = null;
  powerCuts = 0;

  private constructor(
    readonly image: string,
    readonly mountPoint: string,
    readonly sizeMb: number,
  ) {}

  static create(dir: string, mountPoint: string, sizeMb: number): LoopDisk {
    const disk = new LoopDisk(join(dir, 'data-partition.img'), mountPoint, sizeMb);
    mkdirSync(mountPoint, { recursive: true });
    rmSync(disk.image, { force: true });
    run('truncate', ['-s', `${sizeMb}M`, disk.image]);
    // No blocks reserved for root: the firmware runs as root and must see the same free space as df.
    run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', disk.image]);
    try {
      disk.attach();
    } catch (error) {
      throw new Error(`--disk-mb needs root and loop devices (losetup): ${(error as Error).message}`);
    }
    return disk;
  }

  private attach(): void {
    this.device = run('losetup', ['--find', '--show', this.image]);
    run('mount', ['-t', 'ext4', this.device, this.mountPoint]);
  }

  private detach(): void {
    if (!this.device) return;
    try {
      run('umount', [this.mountPoint]);
    } catch {
      run('umount', ['-l', this.mountPoint]);
    }
    try {
      run('losetup', ['-d', this.device]);
    } catch {
      // a lazily unmounted file system still holds it: it is freed when released (autoclear)
    }
    this.device = null;
  }

  /**
   * Cuts the power: call it only when every process writing to the disk is dead. Returns how long
   * the cut and the remount (ext4 journal replay) took.
   */
  powerCut(): number {
    const started = performance.now();
    const snapshot = `${this.image}.cut`;
    // Sparse: an image that is mostly free space copies in tens of milliseconds.
    run('cp', ['--sparse=always', this.image, snapshot]);
    this.detach();
    renameSync(snapshot, this.image);
    this.attach();
    this.powerCuts++;
    return performance.now() - started;
  }

  stop(): void {
    this.detach();
    rmSync(this.image, { force: true });
  }
}
