"""The names of the booking domain's choices, as applicants read them (translated by `_`)."""

from __future__ import annotations

from .i18n import Translate


def names(labels: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Just the names of (name, explanation) labels."""
    return {code: name for code, (name, _explanation) in labels.items()}


def status_labels(_: Translate) -> dict[str, str]:
    """A booking's statuses (and the timeline's reschedule event); the Indonesian ones match
    the proof's (`LABELS` in api/booking/bookings.py)."""
    return {
        "awaiting_payment": _("Menunggu pembayaran"),
        "confirmed": _("Lunas - terjadwal"),
        "checked_in": _("Hadir"),
        "interviewed": _("Wawancara selesai"),
        "approved": _("Disetujui"),
        "printing": _("Dicetak"),
        "ready": _("Siap diambil"),
        "collected": _("Sudah diambil"),
        "rejected": _("Ditolak"),
        "expired": _("Kedaluwarsa (tidak dibayar)"),
        "cancelled": _("Dibatalkan"),
        "rescheduled": _("Jadwal diubah"),
    }


def passport_labels(_: Translate) -> dict[str, str]:
    """The passport books."""
    return {"biasa": _("Paspor biasa"), "elektronik": _("Paspor elektronik")}


def lane_labels(_: Translate) -> dict[str, tuple[str, str]]:
    """Each lane's name and what it means for the applicant."""
    return {
        "reguler": (_("Reguler"), _("Paspor selesai sekitar 4 hari kerja setelah wawancara.")),
        "percepatan": (
            _("Percepatan"),
            _("Paspor selesai pada hari yang sama; ada biaya tambahan."),
        ),
        "prioritas": (
            _("Prioritas"),
            _(
                "Untuk lansia, penyandang disabilitas, ibu hamil, dan anak di bawah 2 tahun; "
                "biaya sama dengan reguler."
            ),
        ),
    }


def kind_labels(_: Translate) -> dict[str, tuple[str, str]]:
    """Each application kind's name and when it applies."""
    return {
        "baru": (_("Paspor baru"), _("Belum pernah memiliki paspor.")),
        "penggantian": (
            _("Penggantian"),
            _("Paspor lama habis masa berlaku atau halamannya penuh."),
        ),
        "hilang": (
            _("Paspor hilang"),
            _("Ada biaya tambahan; bawa surat keterangan hilang dari polisi."),
        ),
        "rusak": (_("Paspor rusak"), _("Ada biaya tambahan; bawa paspor yang rusak.")),
    }


def document_labels(_: Translate) -> dict[str, tuple[str, str]]:
    """Each document kind's name and what counts as one."""
    return {
        "ktp": (_("KTP elektronik"), _("Kartu Tanda Penduduk pemohon (anak: KTP orang tua).")),
        "kk": (_("Kartu Keluarga"), _("Kartu Keluarga yang memuat nama pemohon.")),
        "pendukung": (
            _("Dokumen pendukung"),
            _(
                "Akta kelahiran, buku nikah/akta perkawinan, atau ijazah yang memuat nama, "
                "tempat, dan tanggal lahir."
            ),
        ),
        "paspor_lama": (_("Paspor lama"), _("Halaman data diri paspor lama.")),
    }


def sex_labels(_: Translate) -> dict[str, str]:
    """Sex as on the KTP."""
    return {"L": _("Laki-laki"), "P": _("Perempuan")}


def marital_labels(_: Translate) -> dict[str, str]:
    """Marital status as on the KK."""
    return {
        "belum_kawin": _("Belum kawin"),
        "kawin": _("Kawin"),
        "cerai_hidup": _("Cerai hidup"),
        "cerai_mati": _("Cerai mati"),
    }


def purpose_labels(_: Translate) -> dict[str, str]:
    """The purpose of travel."""
    return {
        "wisata": _("Wisata"),
        "umrah": _("Umrah"),
        "haji": _("Haji"),
        "bekerja": _("Bekerja"),
        "belajar": _("Belajar"),
        "kunjungan_keluarga": _("Kunjungan keluarga"),
        "bisnis": _("Bisnis"),
        "berobat": _("Berobat"),
        "lainnya": _("Lainnya"),
    }
