//! `OHWB_<SECTION>_<KEY>` environment overrides, for containers and unit files that set a few
//! values without writing a file: `OHWB_PATHS_CORPUS=/srv/corpus`, `OHWB_HTTP_LISTEN=…`,
//! `OHWB_DISCORD_GUILD_IDS=123,456`.
//!
//! Invariants:
//! - Every key of every section can be overridden, and nothing else: a variable that names a
//!   section but no key in it is refused (a typo must not silently do nothing). Variables whose
//!   name starts with no section (`OHWB_LOG`, the test hooks) are left alone.
//! - A value is taken as the key's own type: text keys take the value verbatim; numbers, true /
//!   false and lists are read as TOML (a list may also be written `a,b` without brackets).
//! - Overridden paths are not resolved against the config file's directory: like the command
//!   line's flags, they are relative to the working directory.

use super::Config;

/// The prefix every override starts with.
pub const PREFIX: &str = "OHWB_";

/// `config` with every override in `vars` applied; the error names the variable.
pub(super) fn apply(
    config: Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, String> {
    let mut table = toml::Table::try_from(&config).map_err(|e| e.to_string())?;
    let mut changed = false;
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((section, key)) = table.keys().find_map(|s| {
            let key = rest.strip_prefix(&s.to_uppercase())?.strip_prefix('_')?;
            Some((s.clone(), key.to_lowercase()))
        }) else {
            continue;
        };
        let Some(toml::Value::Table(keys)) = table.get_mut(&section) else {
            continue;
        };
        let Some(old) = keys.get(&key) else {
            return Err(format!("{name}: [{section}] has no key `{key}`"));
        };
        let value = match old {
            toml::Value::String(_) => Some(toml::Value::String(raw.clone())),
            toml::Value::Array(_) if !raw.trim_start().starts_with('[') => {
                literal(&format!("[{raw}]"))
            }
            _ => literal(&raw),
        }
        .ok_or_else(|| format!("{name}: `{raw}` is not a valid value for {section}.{key}"))?;
        keys.insert(key, value);
        changed = true;
    }
    if !changed {
        return Ok(config);
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| format!("environment overrides: {}", e.message()))
}

/// A TOML value written on its own (`42`, `true`, `[1, 2]`).
fn literal(raw: &str) -> Option<toml::Value> {
    let mut t: toml::Table = toml::from_str(&format!("v = {raw}")).ok()?;
    t.remove("v")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn overrides_take_each_keys_own_type() {
        let c = apply(
            Config::default(),
            vars(&[
                ("OHWB_PATHS_CORPUS", "/srv/corpus"),
                ("OHWB_DISCORD_GUILD_IDS", "123, 456"),
                ("OHWB_DISCORD_DEFER_AFTER_MS", "900"),
                ("OHWB_HTTP_LISTEN", "127.0.0.1:9898"),
                ("OHWB_INDEX_WATCH", "true"),
                // A number-looking value for a text key stays text.
                ("OHWB_SUPPORT_PHONE", "111"),
                ("OHWB_LOG_FORMAT", "json"),
                // Not config: left alone.
                ("OHWB_LOG", "debug"),
                ("OHWB_TEST_FAIL_AT", "execute"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.paths.corpus, PathBuf::from("/srv/corpus"));
        assert_eq!(c.discord.guild_ids, vec![123, 456]);
        assert_eq!(c.discord.defer_after_ms, 900);
        assert_eq!(c.http.listen, "127.0.0.1:9898");
        assert!(c.index.watch);
        assert_eq!(c.support.phone, "111");
        assert_eq!(c.log.format, super::super::LogFormat::Json);
    }

    #[test]
    fn typos_and_bad_values_name_the_variable() {
        let e = apply(Config::default(), vars(&[("OHWB_PATHS_CORPSE", "x")])).unwrap_err();
        assert!(
            e.contains("OHWB_PATHS_CORPSE") && e.contains("corpse"),
            "{e}"
        );
        let e = apply(Config::default(), vars(&[("OHWB_ANSWER_TOP", "three")])).unwrap_err();
        assert!(e.contains("OHWB_ANSWER_TOP"), "{e}");
        let e = apply(Config::default(), vars(&[("OHWB_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(e.contains("xml"), "{e}");
    }
}
