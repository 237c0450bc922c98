//! The macro that turns the one table of settings (`config::table`) into the `serve` flags
//! (clap, each falling back to its environment variable), the `backline.toml` keys (serde,
//! unknown keys refused), the merge (flag, then environment, then file, then default) with each
//! setting's validation, and the list [`super::Declared`] that the docs are checked against.
//!
//! An entry reads:
//!
//! ```text
//! /// Help of the flag.
//! key: [RawType] {
//!     env: "BACKLINE_KEY",
//!     arg: [extra clap attributes, ...],
//!     default: value(expr) | unset("what no value means"),
//!     apply: |settings, raw| -> Result<(), Rejected> { ... },
//! }
//! ```
//!
//! The flag is `--key` with `-` for `_`, the file key is `key`; `apply` gets the raw value
//! (`RawType` with a default, `Option<RawType>` without) and sets the typed [`super::Settings`].

/// Declares the settings: `common { entries }` (shared by `serve` and `sync`) and
/// `server { entries }` (`serve` only).
macro_rules! declare_settings {
    (
        common { $(
            $(#[doc = $chelp:literal])+
            $ckey:ident : [$($cty:tt)+] {
                env: $cenv:literal,
                arg: [$($carg:tt)*],
                default: $cdkind:ident ($cdval:expr),
                apply: $capply:expr $(,)?
            }
        ),* $(,)? }
        server { $(
            $(#[doc = $shelp:literal])+
            $skey:ident : [$($sty:tt)+] {
                env: $senv:literal,
                arg: [$($sarg:tt)*],
                default: $sdkind:ident ($sdval:expr),
                apply: $sapply:expr $(,)?
            }
        ),* $(,)? }
    ) => {
        /// Settings every command that talks to GitLab or opens the store shares (`serve` and
        /// `sync`); each flag falls back to its environment variable, then to the config file.
        #[derive(Debug, Clone, Default, clap::Args)]
        #[command(next_help_heading = "GitLab and store")]
        pub struct CommonArgs {
            $(
                $(#[doc = $chelp])+
                #[arg(long, env = $cenv, help = declare_settings!(@help [$($chelp),+], [$($cty)+] $cdkind($cdval)), $($carg)*)]
                pub $ckey: Option<$($cty)+>,
            )*
        }

        /// `serve` flags: those only the server uses, then the shared ones. Each falls back to
        /// its environment variable, then to the config file.
        #[derive(Debug, Clone, Default, clap::Args)]
        #[command(next_help_heading = "Server")]
        pub struct ServeArgs {
            $(
                $(#[doc = $shelp])+
                #[arg(long, env = $senv, help = declare_settings!(@help [$($shelp),+], [$($sty)+] $sdkind($sdval)), $($sarg)*)]
                pub $skey: Option<$($sty)+>,
            )*
            /// GitLab and store settings, shared with `sync`.
            #[command(flatten)]
            pub common: CommonArgs,
        }

        /// The same settings as they appear in `backline.toml` (keys are the environment
        /// names, lower case, without the prefix). Unknown keys are an error, so a typo does
        /// not pass silently.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct FileConfig {
            $( pub(super) $ckey: Option<<$($cty)+ as $crate::config::value::Raw>::File>, )*
            $( pub(super) $skey: Option<<$($sty)+ as $crate::config::value::Raw>::File>, )*
        }

        /// Every declared setting, in table order.
        pub fn declared() -> Vec<Declared> {
            vec![
                $( Declared {
                    key: stringify!($ckey),
                    env: $cenv,
                    group: Group::Common,
                    default: declare_settings!(@shown [$($cty)+] $cdkind($cdval)),
                    help: $crate::config::value::doc_text(&[$($chelp),+]),
                }, )*
                $( Declared {
                    key: stringify!($skey),
                    env: $senv,
                    group: Group::Server,
                    default: declare_settings!(@shown [$($sty)+] $sdkind($sdval)),
                    help: $crate::config::value::doc_text(&[$($shelp),+]),
                }, )*
            ]
        }

        /// Sets every declared field of `settings` from the flags (already falling back to
        /// the environment), else the file, else the default, validating each.
        pub(super) fn apply_all(
            settings: &mut Settings,
            args: ServeArgs,
            file: FileConfig,
        ) -> Result<(), ConfigError> {
            let common = args.common;
            $(
                {
                    let merged: Option<$($cty)+> = common
                        .$ckey
                        .or_else(|| file.$ckey.map(<$($cty)+ as $crate::config::value::Raw>::from_file));
                    let apply: fn(&mut Settings, declare_settings!(@argty [$($cty)+] $cdkind)) -> Result<(), Rejected> = $capply;
                    apply(settings, declare_settings!(@pick merged, $cdkind($cdval)))
                        .map_err(|r| r.named($cenv))?;
                }
            )*
            $(
                {
                    let merged: Option<$($sty)+> = args
                        .$skey
                        .or_else(|| file.$skey.map(<$($sty)+ as $crate::config::value::Raw>::from_file));
                    let apply: fn(&mut Settings, declare_settings!(@argty [$($sty)+] $sdkind)) -> Result<(), Rejected> = $sapply;
                    apply(settings, declare_settings!(@pick merged, $sdkind($sdval)))
                        .map_err(|r| r.named($senv))?;
                }
            )*
            Ok(())
        }
    };

    // The raw value `apply` gets: the type itself with a default, an option without.
    (@argty [$($ty:tt)+] value) => { $($ty)+ };
    (@argty [$($ty:tt)+] unset) => { Option<$($ty)+> };
    (@pick $merged:ident, value($default:expr)) => { $merged.unwrap_or_else(|| $default) };
    (@pick $merged:ident, unset($_what:expr)) => { $merged };
    // The default as the docs say it.
    (@shown [$($ty:tt)+] value($default:expr)) => {
        <$($ty)+ as $crate::config::value::Raw>::show(&$default)
    };
    (@shown [$($ty:tt)+] unset($what:expr)) => { String::from($what) };
    (@help [$($help:literal),+], [$($ty:tt)+] $kind:ident($default:expr)) => {
        format!(
            "{} [default: {}]",
            $crate::config::value::doc_text(&[$($help),+]),
            declare_settings!(@shown [$($ty)+] $kind($default))
        )
    };
}
