//! A consistent page-by-page copy of one SQLite database into another with SQLite's online
//! backup API (what the sqlite3 shell's `.backup` does). Safe on a live WAL database: the
//! whole copy happens inside one read transaction of the source. Diesel does not expose this
//! API, so it is called through libsqlite3-sys (the same bundled SQLite diesel links).

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;
use std::ptr;

use libsqlite3_sys as ffi;

use super::connection::BUSY_TIMEOUT;

/// An open handle, closed on drop.
struct Handle(*mut ffi::sqlite3);

impl Handle {
    fn open(path: &Path, flags: c_int) -> Result<Self, String> {
        let c_path = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| format!("{} contains a NUL byte", path.display()))?;
        let mut db = ptr::null_mut();
        // SAFETY: c_path is a valid NUL-terminated string; db receives a handle that we own
        // (closed in Drop even when open fails, as SQLite requires).
        let rc = unsafe { ffi::sqlite3_open_v2(c_path.as_ptr(), &mut db, flags, ptr::null()) };
        let handle = Handle(db);
        if rc != ffi::SQLITE_OK {
            return Err(format!(
                "cannot open {}: {}",
                path.display(),
                handle.message(rc)
            ));
        }
        // SAFETY: the handle is open.
        unsafe { ffi::sqlite3_busy_timeout(db, BUSY_TIMEOUT.as_millis() as c_int) };
        Ok(handle)
    }

    fn message(&self, rc: c_int) -> String {
        if self.0.is_null() {
            // SAFETY: sqlite3_errstr returns a static string for any code.
            return unsafe { CStr::from_ptr(ffi::sqlite3_errstr(rc)) }
                .to_string_lossy()
                .into_owned();
        }
        // SAFETY: the handle is valid until Drop; errmsg points into it and is copied at once.
        unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.0)) }
            .to_string_lossy()
            .into_owned()
    }

    fn exec(&self, sql: &str) -> Result<(), String> {
        let c_sql = CString::new(sql).map_err(|_| "SQL contains a NUL byte".to_string())?;
        // SAFETY: valid handle and NUL-terminated SQL; no callback.
        let rc = unsafe {
            ffi::sqlite3_exec(
                self.0,
                c_sql.as_ptr(),
                None,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.message(rc))
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: closing a handle we own (NULL is a no-op); no statements are left open here.
        unsafe { ffi::sqlite3_close(self.0) };
    }
}

/// Copies every page of `source` into `destination` (created if missing, replaced if not).
/// The destination is left in rollback-journal mode so that it is one self-contained file.
pub fn copy(source: &Path, destination: &Path) -> Result<(), String> {
    let src = Handle::open(source, ffi::SQLITE_OPEN_READONLY)?;
    let dst = Handle::open(
        destination,
        ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE,
    )?;
    // A WAL destination refuses pages of another size; a rollback journal takes any.
    dst.exec("PRAGMA journal_mode = DELETE;")?;
    let main = c"main";
    // SAFETY: both handles are open and distinct; the backup object is finished below.
    let backup = unsafe { ffi::sqlite3_backup_init(dst.0, main.as_ptr(), src.0, main.as_ptr()) };
    if backup.is_null() {
        return Err(dst.message(ffi::SQLITE_ERROR));
    }
    let mut rc;
    loop {
        // SAFETY: backup is a live backup object; -1 copies all remaining pages at once.
        rc = unsafe { ffi::sqlite3_backup_step(backup, -1) };
        if rc == ffi::SQLITE_BUSY || rc == ffi::SQLITE_LOCKED {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        break;
    }
    // SAFETY: finishing the backup object exactly once.
    let finish = unsafe { ffi::sqlite3_backup_finish(backup) };
    if rc != ffi::SQLITE_DONE {
        return Err(dst.message(rc));
    }
    if finish != ffi::SQLITE_OK {
        return Err(dst.message(finish));
    }
    dst.exec("PRAGMA journal_mode = DELETE;")
}
