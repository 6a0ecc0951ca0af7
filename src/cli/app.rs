//! The one wiring point: [`App`], built once by [`super::run`] from the
//! settings, holds what every front end works with: the settings, the
//! policy ([`Helper`]: cache, then token source) and the sign-ins, the
//! last two behind the core's traits ([`crate::core::source`]). Only here
//! does the command line meet the AWS implementation of those traits;
//! tests hand in fakes instead.

use std::rc::Rc;

use crate::aws::SdkTokenSource;
use crate::core::helper::Helper;
use crate::core::source::{SignIn, TokenSource};
use crate::settings::Settings;

/// The policy the front ends log in through: cache first, then the token source.
pub type Policy = Helper<Rc<dyn TokenSource>>;

/// Everything a front end needs, wired once.
pub struct App<'a> {
    settings: &'a Settings,
    helper: Policy,
    sign_in: Rc<dyn SignIn>,
}

impl<'a> App<'a> {
    /// The production wiring: the AWS SDK behind both seams.
    pub fn new(settings: &'a Settings) -> App<'a> {
        let sdk = Rc::new(SdkTokenSource::new(settings));
        App::with(settings, sdk.clone(), sdk)
    }

    /// A wiring with the given token source and sign-ins (tests' fakes), and
    /// the cache and deadlines of `settings`.
    pub fn with(
        settings: &'a Settings,
        source: Rc<dyn TokenSource>,
        sign_in: Rc<dyn SignIn>,
    ) -> App<'a> {
        App {
            settings,
            helper: Helper::from_settings(source, settings),
            sign_in,
        }
    }

    /// What the environment says.
    pub fn settings(&self) -> &'a Settings {
        self.settings
    }

    /// The policy: cache, then token source.
    pub fn helper(&self) -> &Policy {
        &self.helper
    }

    /// The token source itself (for what bypasses the cache: `doctor`).
    pub fn source(&self) -> &dyn TokenSource {
        &**self.helper.source()
    }

    /// The interactive sign-ins (`login`, `doctor`).
    pub fn sign_in(&self) -> &dyn SignIn {
        &*self.sign_in
    }
}
