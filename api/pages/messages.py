"""The domain's refusals and validation problems in the visitor's language.

The domain speaks English and gives each refusal a machine code; pages show the code's text
here instead (translated by `_`), and fall back to the domain's own message for a code this
module does not know yet.
"""

from __future__ import annotations

from .i18n import Translate


def refusal_text(_: Translate, code: str, fallback: str) -> str:
    """What to tell the visitor about a refused request with this code."""
    texts = {
        "draft_unreadable": _(
            "Isian permohonan yang tersimpan tidak dapat dibuka lagi, jadi permohonan dimulai "
            "dari awal. Maaf atas ketidaknyamanannya."
        ),
        "bad_credentials": _("Alamat e-mail atau kata sandi salah."),
        "email_not_verified": _("Alamat e-mail belum diverifikasi. Masukkan kode dari e-mail."),
        "too_many_attempts": _("Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi."),
        "email_taken": _("Sudah ada akun dengan alamat e-mail ini. Silakan masuk."),
        "slot_full": _("Sesi itu baru saja penuh. Pilih tanggal atau sesi lain."),
        "date_closed": _("Kantor tutup pada tanggal itu. Pilih tanggal lain."),
        "date_passed": _("Tanggal itu sudah lewat. Pilih mulai besok."),
        "not_released": _("Kuota tanggal itu belum dibuka. Pilih tanggal yang sudah dibuka."),
        "nik_has_active_booking": _("NIK ini sudah memiliki permohonan yang aktif."),
        "too_many_applicants": _("Satu akun dapat mengajukan paling banyak 5 pemohon."),
        "turn_used": _("Giliran ini sudah dipakai untuk satu permohonan."),
        "already_rescheduled": _("Jadwal hanya dapat diubah satu kali."),
        "same_slot": _("Itu jadwal Anda saat ini. Pilih jadwal lain."),
        "too_late": _("Jadwal hanya dapat diubah paling lambat sehari sebelumnya (H-1)."),
        "not_reschedulable": _("Permohonan ini tidak dapat diubah jadwalnya lagi."),
        "not_cancellable": _("Permohonan ini tidak dapat dibatalkan lagi."),
        "booking_cancelled": _("Permohonan ini sudah dibatalkan."),
        "billing_expired": _("Batas waktu pembayaran sudah lewat; permohonan dibatalkan."),
        "already_paid": _("Kode billing ini sudah dibayar."),
        "unknown_billing_code": _("Kode billing tidak ditemukan."),
        "unknown_booking": _("Permohonan tidak ditemukan."),
        "unknown_office": _("Kantor tidak ditemukan."),
        "unknown_slot": _("Sesi itu tidak ada di kantor ini."),
    }
    return texts.get(code, fallback)


def problem_text(_: Translate, code: str, fallback: str) -> str:
    """What to tell the visitor about a refused form field with this code."""
    texts = {
        "required": _("Wajib diisi."),
        "type": _("Isian tidak valid."),
        "length": _("Panjang isian tidak sesuai."),
        "choice": _("Pilih salah satu pilihan yang tersedia."),
        "date": _("Masukkan tanggal yang benar."),
        "format": _("Hanya huruf, spasi, dan tanda baca umum."),
        "phone": _("Masukkan nomor ponsel Indonesia, mis. 081234567890."),
        "birth_date_future": _("Tanggal lahir harus sebelum hari ini."),
        "birth_date_too_old": _("Tanggal lahir terlalu jauh ke belakang."),
        "nik_format": _("NIK terdiri dari tepat 16 angka."),
        "nik_region": _("Kode wilayah NIK (6 angka pertama) tidak dikenal."),
        "nik_birth_date": _("Angka tanggal lahir di NIK (angka ke-7 s.d. 12) tidak valid."),
        "nik_birth_date_mismatch": _(
            "NIK tidak cocok dengan tanggal lahir. Periksa keduanya di KTP atau KK."
        ),
        "nik_sex_mismatch": _("NIK tidak cocok dengan jenis kelamin yang dipilih."),
        "nik_serial": _("Empat angka terakhir NIK tidak boleh 0000."),
        "validity_needs_adult": _(
            "Paspor 10 tahun hanya untuk pemohon berusia 17 tahun ke atas atau sudah menikah."
        ),
        "wrong_code": _("Kode salah atau sudah kedaluwarsa."),
    }
    return texts.get(code, fallback)
