//! Faults injected into the answers of a real S3 API: an SDK interceptor
//! that lets each request reach the server, then, for the requests a
//! [`Fault`] matches, replaces the answer with the fault's error. S3 acted;
//! the caller is told it failed (a 503 or a timeout after the fact).
//!
//! Why not `aws-smithy-mocks`, which does this: it turns on the
//! `test-util` feature of `aws-smithy-http-client`, which pulls in
//! `preserve_order` for `serde_json` and `i128` for `num-traits`. Every
//! test build then had its own copy of the SDK, the image crates and the
//! function: the `bootstrap` the tests ran was not the one `cargo build`
//! makes, and `cargo build` after `cargo test` compiled most of the tree
//! again (minutes on two cores). This is the part of it the tests use.

use aws_sdk_s3::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextMut,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{Error, Input};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

type Matcher = dyn Fn(&Input) -> bool + Send + Sync;
type Answer = dyn Fn() -> Error + Send + Sync;

/// Which requests fail, with what error, how many times. Clones share
/// their count.
#[derive(Clone)]
pub struct Fault(Arc<Rule>);

struct Rule {
    matches: Box<Matcher>,
    answer: Box<Answer>,
    limit: Option<usize>,
    answered: AtomicUsize,
}

impl Fault {
    /// Requests of the operation whose input is `I` (e.g.
    /// `DeleteObjectInput`) for which `matches` holds, answered by `error`
    /// every time (each of the SDK's attempts).
    pub fn on<I, E>(
        matches: impl Fn(&I) -> bool + Send + Sync + 'static,
        error: impl Fn() -> E + Send + Sync + 'static,
    ) -> Self
    where
        I: fmt::Debug + Send + Sync + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        Self(Arc::new(Rule {
            matches: Box::new(move |input| input.downcast_ref::<I>().is_some_and(&matches)),
            answer: Box::new(move || Error::erase(error())),
            limit: None,
            answered: AtomicUsize::new(0),
        }))
    }

    /// Only the first answer fails; later attempts reach S3's own.
    pub fn once(mut self) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("once() before the fault is shared")
            .limit = Some(1);
        self
    }

    /// How many answers it replaced.
    pub fn answered(&self) -> usize {
        self.0.answered.load(Ordering::SeqCst)
    }

    /// Counts an answer if the fault still has one to give.
    fn take(&self) -> bool {
        let limit = self.0.limit.unwrap_or(usize::MAX);
        self.0
            .answered
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok()
    }
}

/// The interceptor for a client config: the first matching fault of
/// `faults` answers each request; requests no fault matches are untouched.
pub fn interceptor(faults: &[&Fault]) -> SharedInterceptor {
    SharedInterceptor::new(Faults(faults.iter().map(|&f| f.clone()).collect()))
}

struct Faults(Vec<Fault>);

/// The fault that matched this request, kept in the request's config bag
/// from serialization to the end of each attempt.
#[derive(Debug, Clone, Copy)]
struct Matched(usize);

impl Storable for Matched {
    type Storer = StoreReplace<Self>;
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} faults", self.0.len())
    }
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "Faults"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        if let Some(i) = self.0.iter().position(|f| (f.0.matches)(input)) {
            cfg.interceptor_state().store_put(Matched(i));
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(&Matched(i)) = cfg.load::<Matched>() {
            let fault = &self.0[i];
            if fault.take() {
                context
                    .inner_mut()
                    .set_output_or_error(Err(OrchestratorError::operation((fault.0.answer)())));
            }
        }
        Ok(())
    }
}
