"""Writes the alarm sound the station ships, resources/alarm.wav: four tone pulses that
alternate high and low (988 Hz, 784 Hz; 180 ms each with 70 ms gaps), 16-bit mono at
22.05 kHz, about 1 s and 44 KB. Tones near 1 kHz carry on the small speakers of panel PCs
and laptops, and a changing pitch is heard over a glovebox's fans where a steady beep
fades into them. The file is made here rather than recorded so that it is plainly ours
and reproducible: `python packaging/make_alarm_sound.py` after changing a figure, and
commit the WAV (tests/gui/test_alarm_sound.py checks it matches).
"""
from __future__ import annotations

import io
import math
import struct
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAV = ROOT / "resources" / "alarm.wav"

RATE_HZ = 22050
TONES_HZ = (988.0, 784.0, 988.0, 784.0)     # B5, G5
PULSE_S = 0.18
GAP_S = 0.07
FADE_S = 0.01         # a click-free start and end of each pulse
LEVEL = 0.5           # of full scale: loud, with room for the third harmonic
THIRD = 0.25          # a third harmonic makes the tone carry on small speakers


def pulse(freq_hz: float) -> list[float]:
    n = round(PULSE_S * RATE_HZ)
    fade = round(FADE_S * RATE_HZ)
    out = []
    for k in range(n):
        x = 2 * math.pi * freq_hz * k / RATE_HZ
        envelope = min(1.0, k / fade, (n - 1 - k) / fade)
        out.append(LEVEL * envelope * (math.sin(x) + THIRD * math.sin(3 * x)))
    return out


def alarm_samples() -> list[float]:
    """The sound as floats in -1..1."""
    gap = [0.0] * round(GAP_S * RATE_HZ)
    out: list[float] = []
    for freq in TONES_HZ:
        out += pulse(freq) + gap
    return out


def alarm_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE_HZ)
        wav.writeframes(b"".join(struct.pack("<h", round(32767 * s)) for s in alarm_samples()))
    return buffer.getvalue()


def main() -> int:
    WAV.write_bytes(alarm_wav())
    print(f"wrote {WAV} ({WAV.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
