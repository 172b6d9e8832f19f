"""archcalc calibrate: measure this CPU's matmul rate and copy bandwidth for `roofline --device cpu`."""

from __future__ import annotations

import click


@click.command(
    "calibrate",
    epilog="""\b
Examples:
  archcalc calibrate
  archcalc calibrate --force                 # measure again, replacing the stored figures
  ARCHCALC_CONFIG=cal.json archcalc calibrate --threads 1

\b
Stores the figures in $ARCHCALC_CONFIG, else $XDG_CONFIG_HOME/archcalc/calibration.json
(~/.config/archcalc/calibration.json); `roofline`, `sweep` and `profile --per-layer`
then know device "cpu". Needs torch.""",
)
@click.option("--size", default=2048, show_default=True, type=click.IntRange(min=64, max=16384),
              help="Side of the square matrices multiplied.")
@click.option("--copy-mib", default=256, show_default=True, type=click.IntRange(min=1, max=16384),
              help="Size of the tensor copied, in MiB.")
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(min=1, max=100),
              help="Timed repetitions of each; the best is kept.")
@click.option("--threads", type=click.IntRange(min=1), help="torch's intra-op CPU threads (default: torch's).")
@click.option("--force", is_flag=True, help="Replace figures stored before.")
def command(size, copy_mib, repeats, threads, force):
    """Time a large matmul and a large copy with torch and store the two figures as device "cpu"."""
    from archcalc.devices import config_path
    from archcalc.errors import SpecError

    path = config_path()
    if path.exists() and not force:
        raise SpecError(f"{path} holds an earlier calibration; pass --force to replace it")
    from archcalc.calibrate import measure, store
    from archcalc.report.roofline import bandwidth

    device = measure(size, copy_mib * 2**20, repeats, threads=threads)
    store(device, path)
    peaks = ", ".join(f"{name} {rate / 1e9:,.1f} GFLOP/s" for name, rate in device.peak_flops.items())
    click.echo(f"{device.title}: {peaks}; copy {bandwidth(device)}")
    click.echo(f"wrote {path}", err=True)
