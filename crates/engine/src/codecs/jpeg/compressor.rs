//! A libjpeg compression session driven through `mozjpeg-sys`, for the one
//! thing the `mozjpeg` crate cannot do: stop mozjpeg from keeping a second
//! whole-image copy of the coefficients.
//!
//! Progressive scans and optimised Huffman tables need every quantised
//! coefficient of the image before the first byte is written: 2 bytes per
//! coefficient, so 3 B/px at 4:2:0 and 2 B/px for gray. mozjpeg allocates a
//! second set of that size for the unquantised coefficients
//! (`whole_image_uq` in `jccoefct.c`), which only trellis quantisation reads.
//! Trellis is off here, so that set is written and never read. This session
//! hands mozjpeg, for it, a buffer one iMCU row tall that each row
//! overwrites: the same bytes come out, with half the coefficient memory
//! (286 MiB less for a 100 MP photo).

use crate::rows::OpaqueRows;
use mozjpeg_sys::{
    boolean, jpeg_common_struct, jpeg_compress_struct, jpeg_destination_mgr, jpeg_error_mgr,
    jvirt_barray_control, JBLOCKARRAY, JDIMENSION, J_COLOR_SPACE,
};
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// What the encoder is asked for; the rest is libjpeg-turbo's defaults.
pub struct Frame {
    pub space: J_COLOR_SPACE,
    pub components: c_int,
    pub width: u32,
    pub height: u32,
    pub quality: u8,
}

/// Compresses `rows` as a progressive JPEG with optimised Huffman tables,
/// writing each of `app2` as an APP2 marker. Returns the file and how many
/// coefficient sets were given a one-row buffer (one per component).
pub fn compress(frame: &Frame, app2: &[Vec<u8>], rows: &OpaqueRows) -> Result<Encoded, String> {
    let mut session = Session::new(frame.space, frame.components);
    // libjpeg reports errors by unwinding (see `error_exit`); the session is
    // destroyed on the way out either way.
    catch_unwind(AssertUnwindSafe(|| session.run(frame, app2, rows)))
        .map_err(super::super::panic_message)?
}

pub struct Encoded {
    pub bytes: Vec<u8>,
    /// Read by the tests: proof that the one-row buffers were handed out.
    #[cfg_attr(not(test), allow(dead_code))]
    pub write_only_sets: usize,
}

/// Everything libjpeg points into, boxed so those addresses stay put.
struct Parts {
    cinfo: jpeg_compress_struct,
    err: jpeg_error_mgr,
    dest: VecDest,
    hooks: WriteOnlyCopies,
}

struct Session(Box<Parts>);

impl Session {
    fn new(space: J_COLOR_SPACE, components: c_int) -> Self {
        // SAFETY: libjpeg's structs are plain C data, valid when zeroed; the
        // pointers set here point into the same box, which outlives `cinfo`
        // (destroyed in `Drop` before the box is freed).
        unsafe {
            let mut parts = Box::new(Parts {
                cinfo: std::mem::zeroed(),
                err: std::mem::zeroed(),
                dest: VecDest {
                    iface: std::mem::zeroed(),
                    buf: Vec::new(),
                },
                hooks: WriteOnlyCopies {
                    request: None,
                    access: None,
                    requests: 0,
                    last: (0, 0, 0),
                    sets: [ptr::null_mut(); 10],
                    count: 0,
                },
            });
            mozjpeg_sys::jpeg_std_error(&mut parts.err);
            parts.err.error_exit = Some(error_exit);
            parts.err.emit_message = Some(ignore_warning);
            parts.cinfo.common.err = &mut parts.err;
            mozjpeg_sys::jpeg_create_compress(&mut parts.cinfo);
            parts.cinfo.in_color_space = space;
            parts.cinfo.input_components = components;
            mozjpeg_sys::jpeg_set_defaults(&mut parts.cinfo);
            Self(parts)
        }
    }

    fn run(
        &mut self,
        frame: &Frame,
        app2: &[Vec<u8>],
        rows: &OpaqueRows,
    ) -> Result<Encoded, String> {
        let parts = &mut *self.0;
        let cinfo = &mut parts.cinfo;
        // SAFETY: calls on a created `cinfo` in libjpeg's documented order;
        // errors unwind out of `compress`'s `catch_unwind`.
        unsafe {
            mozjpeg_sys::jpeg_c_set_int_param(
                cinfo,
                mozjpeg_sys::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                mozjpeg_sys::JCP_FASTEST as c_int,
            );
            mozjpeg_sys::jpeg_set_defaults(cinfo);
            cinfo.image_width = frame.width;
            cinfo.image_height = frame.height;
            mozjpeg_sys::jpeg_set_quality(cinfo, c_int::from(frame.quality), 0);
            cinfo.optimize_coding = 1;
            mozjpeg_sys::jpeg_simple_progression(cinfo);
            // The one-row buffer is only sound while nothing reads the copy.
            if mozjpeg_sys::jpeg_c_get_bool_param(cinfo, mozjpeg_sys::JBOOLEAN_TRELLIS_QUANT) == 0 {
                parts.hooks.install(cinfo);
            }

            // Capacity that is never written costs address space, not memory.
            parts.dest.buf = Vec::with_capacity(frame.width as usize * frame.height as usize / 4);
            parts.dest.iface.init_destination = Some(init_destination);
            parts.dest.iface.empty_output_buffer = Some(empty_output_buffer);
            parts.dest.iface.term_destination = Some(term_destination);
            cinfo.dest = &mut parts.dest.iface;

            mozjpeg_sys::jpeg_start_compress(cinfo, 1);
            for marker in app2 {
                let len = u32::try_from(marker.len()).map_err(|_| "APP2 marker too long")?;
                mozjpeg_sys::jpeg_write_marker(cinfo, 0xE2, marker.as_ptr(), len);
            }
            rows.for_each_strip(|strip| write_rows(cinfo, strip))?;
            mozjpeg_sys::jpeg_finish_compress(cinfo);
        }
        Ok(Encoded {
            bytes: std::mem::take(&mut parts.dest.buf),
            write_only_sets: parts.hooks.count,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: `cinfo` was created in `new`; destroying it frees every
        // pool, the one-row buffers included, and is allowed after an error.
        unsafe { mozjpeg_sys::jpeg_destroy_compress(&mut self.0.cinfo) }
    }
}

/// Feeds a strip of whole rows; libjpeg may take fewer rows per call.
///
/// # Safety
/// `cinfo` must be started, with `input_components` bytes per pixel.
unsafe fn write_rows(cinfo: &mut jpeg_compress_struct, strip: &[u8]) -> Result<(), String> {
    let stride = cinfo.image_width as usize * cinfo.input_components as usize;
    let pointers: Vec<*const u8> = strip.chunks_exact(stride).map(<[u8]>::as_ptr).collect();
    let mut done = 0;
    while done < pointers.len() {
        let left = (pointers.len() - done) as JDIMENSION;
        let written = mozjpeg_sys::jpeg_write_scanlines(cinfo, pointers[done..].as_ptr(), left);
        if written == 0 {
            return Err("libjpeg took no rows".to_owned());
        }
        done += written as usize;
    }
    Ok(())
}

/// Swaps in memory-manager calls that give the second coefficient set of
/// each component a buffer as tall as one access.
///
/// `jinit_c_coef_controller` requests, per component, the quantised set and
/// then the unquantised one with the same dimensions; in compression nothing
/// else asks for block arrays. So the second request of each equal pair is
/// the unquantised set.
struct WriteOnlyCopies {
    request: Option<RequestBarray>,
    access: Option<AccessBarray>,
    requests: usize,
    last: (JDIMENSION, JDIMENSION, JDIMENSION),
    sets: [*mut jvirt_barray_control; 10],
    count: usize,
}

type RequestBarray = unsafe extern "C-unwind" fn(
    &mut jpeg_common_struct,
    c_int,
    boolean,
    JDIMENSION,
    JDIMENSION,
    JDIMENSION,
) -> *mut jvirt_barray_control;
type AccessBarray = unsafe extern "C-unwind" fn(
    &mut jpeg_common_struct,
    *mut jvirt_barray_control,
    JDIMENSION,
    JDIMENSION,
    boolean,
) -> JBLOCKARRAY;

impl WriteOnlyCopies {
    /// # Safety
    /// `cinfo` must be created and not started; `self` must outlive it.
    unsafe fn install(&mut self, cinfo: &mut jpeg_compress_struct) {
        let mem = &mut *cinfo.common.mem;
        self.request = mem.request_virt_barray;
        self.access = mem.access_virt_barray;
        mem.request_virt_barray = Some(request_barray);
        mem.access_virt_barray = Some(access_barray);
        cinfo.common.client_data = ptr::from_mut(self).cast();
    }
}

unsafe extern "C-unwind" fn request_barray(
    cinfo: &mut jpeg_common_struct,
    pool: c_int,
    pre_zero: boolean,
    blocks_per_row: JDIMENSION,
    rows: JDIMENSION,
    max_access: JDIMENSION,
) -> *mut jvirt_barray_control {
    let hooks = &mut *cinfo.client_data.cast::<WriteOnlyCopies>();
    let Some(request) = hooks.request else {
        return ptr::null_mut();
    };
    let shape = (blocks_per_row, rows, max_access);
    let second_of_pair = hooks.requests % 2 == 1 && hooks.last == shape;
    hooks.requests += 1;
    hooks.last = shape;
    if second_of_pair && hooks.count < hooks.sets.len() {
        let set = request(
            cinfo,
            pool,
            pre_zero,
            blocks_per_row,
            max_access,
            max_access,
        );
        hooks.sets[hooks.count] = set;
        hooks.count += 1;
        set
    } else {
        request(cinfo, pool, pre_zero, blocks_per_row, rows, max_access)
    }
}

unsafe extern "C-unwind" fn access_barray(
    cinfo: &mut jpeg_common_struct,
    set: *mut jvirt_barray_control,
    start_row: JDIMENSION,
    rows: JDIMENSION,
    writable: boolean,
) -> JBLOCKARRAY {
    let hooks = &*cinfo.client_data.cast::<WriteOnlyCopies>();
    let Some(access) = hooks.access else {
        return ptr::null_mut();
    };
    let write_only = hooks.sets[..hooks.count].contains(&set);
    access(
        cinfo,
        set,
        if write_only { 0 } else { start_row },
        rows,
        writable,
    )
}

/// The output, grown in place: libjpeg writes into the vector's spare capacity.
#[repr(C)]
struct VecDest {
    /// First, so `cinfo.dest` is also a pointer to the whole struct.
    iface: jpeg_destination_mgr,
    buf: Vec<u8>,
}

impl VecDest {
    unsafe fn of(cinfo: &mut jpeg_compress_struct) -> &mut Self {
        &mut *cinfo.dest.cast::<Self>()
    }

    fn offer_spare(&mut self) {
        const MIN_SPARE: usize = 64 * 1024;
        if self.buf.capacity() - self.buf.len() < MIN_SPARE {
            self.buf.reserve(self.buf.capacity().max(MIN_SPARE));
        }
        let len = self.buf.len();
        // SAFETY: `len` is within the allocation.
        self.iface.next_output_byte = unsafe { self.buf.as_mut_ptr().add(len) };
        self.iface.free_in_buffer = self.buf.capacity() - len;
    }
}

unsafe extern "C-unwind" fn init_destination(cinfo: &mut jpeg_compress_struct) {
    VecDest::of(cinfo).offer_spare();
}

/// Called when libjpeg has filled all it was offered.
unsafe extern "C-unwind" fn empty_output_buffer(cinfo: &mut jpeg_compress_struct) -> boolean {
    let dest = VecDest::of(cinfo);
    dest.buf.set_len(dest.buf.capacity());
    dest.offer_spare();
    1
}

unsafe extern "C-unwind" fn term_destination(cinfo: &mut jpeg_compress_struct) {
    let dest = VecDest::of(cinfo);
    let written = dest.buf.capacity() - dest.iface.free_in_buffer;
    dest.buf.set_len(written);
}

/// libjpeg's fatal errors unwind to the caller (`compress`, the decoder)
/// with the message as payload.
pub(crate) unsafe extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let message = libjpeg_message(cinfo);
    std::panic::resume_unwind(Box::new(format!("libjpeg fatal error: {message}")));
}

/// libjpeg's message for its last error or warning.
///
/// # Safety
/// `cinfo.err` points to the error manager libjpeg was set up with.
pub(crate) unsafe fn libjpeg_message(cinfo: &mut jpeg_common_struct) -> String {
    let mut text = [0u8; 256]; // JMSG_LENGTH_MAX is 200
    match (*cinfo.err).format_message {
        Some(format) => {
            format(cinfo, &*text.as_mut_ptr().cast::<[u8; 80]>());
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            String::from_utf8_lossy(&text[..end]).into_owned()
        }
        None => format!("code {}", (*cinfo.err).msg_code),
    }
}

unsafe extern "C-unwind" fn ignore_warning(_: &mut jpeg_common_struct, _: c_int) {}
