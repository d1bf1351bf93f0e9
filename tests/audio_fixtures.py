"""Signal generators and damaged-WAV writers shared by the audio tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 8000
WAV_HEADER_BYTES = 44
"""Size of the canonical header that soundfile writes for PCM WAV."""


def sine(
    seconds: float, *, amplitude: float = 0.5, freq: float = 440.0, rate: int = RATE
) -> np.ndarray:
    """Return a float64 sine of shape (frames,)."""
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def square(seconds: float, *, amplitude: float = 0.5, period: int = 16) -> np.ndarray:
    """Return a square wave of exactly +/-amplitude with an even period in samples."""
    frames = round(seconds * RATE)
    half = np.where((np.arange(frames) // (period // 2)) % 2 == 0, 1.0, -1.0)
    return amplitude * half


def write_wav(
    path: Path, samples: np.ndarray, *, rate: int = RATE, subtype: str = "PCM_16"
) -> Path:
    """Write a WAV file with soundfile and return its path."""
    sf.write(path, samples, rate, subtype=subtype, format="WAV")
    return path


def set_wav_sizes(
    path: Path, *, riff_size: int | None = None, data_size: int | None = None
) -> None:
    """Overwrite the RIFF and data size fields of a canonical 44-byte-header WAV."""
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"data", "expected the data chunk header at byte 36"
    if riff_size is not None:
        data[4:8] = struct.pack("<I", riff_size)
    if data_size is not None:
        data[40:44] = struct.pack("<I", data_size)
    path.write_bytes(bytes(data))


def wav_with_format_tag(path: Path, format_tag: int, payload: bytes) -> Path:
    """Write a minimal mono 8 kHz WAV with any format tag and raw payload bytes."""
    fmt = struct.pack("<HHIIHH", format_tag, 1, RATE, RATE, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload)) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
