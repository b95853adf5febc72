//! The PATCH engine (RFC 7644 §3.5.2): a pure function from a resource's canonical JSON and a
//! list of operations to the new JSON, or a SCIM error. Operations apply in order, each on the
//! result of the previous; any error discards everything (the caller keeps the original).

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::{evaluate, AttrPath, CompValue, CompareOp, Filter, PatchPath};
use super::lookup::JsonLookup;
use super::normalize::{self, coerce, coerce_single};
use super::schema::{
    valid_name, valid_urn, AttrType, Attribute, Mutability, ResourceType, Unknown,
};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Parse a PatchOp body. Lenient (T1, T13): `op` in any case, `Operations` in any case, the
/// `schemas` member may be missing.
pub fn parse_request(body: &Value) -> ScimResult<Vec<Operation>> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    };
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v)
        .ok_or_else(|| ScimError::invalid_syntax("the PATCH body has no Operations"))?;
    let Value::Array(ops) = ops else {
        return Err(ScimError::invalid_syntax("Operations must be an array"));
    };
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("Operations is empty"));
    }
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let Value::Object(o) = o else {
                return Err(ScimError::invalid_syntax(format!(
                    "operation {i} is not an object"
                )));
            };
            let get = |name: &str| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            let op = match get("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => Op::Add,
                Some("remove") => Op::Remove,
                Some("replace") => Op::Replace,
                Some(other) => {
                    return Err(ScimError::invalid_syntax(format!(
                        "operation {i}: unknown op {other:?}; use add, remove or replace"
                    )))
                }
                None => {
                    return Err(ScimError::invalid_syntax(format!(
                        "operation {i} has no op"
                    )))
                }
            };
            let path = match get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "operation {i}: path must be a string"
                    )))
                }
            };
            let value = get("value").cloned();
            if op != Op::Remove && path.is_none() && !matches!(value, Some(Value::Object(_))) {
                return Err(ScimError::invalid_value(format!(
                    "operation {i}: without a path, value must be an object of attributes"
                )));
            }
            if op != Op::Remove && value.is_none() {
                return Err(ScimError::invalid_value(format!(
                    "operation {i}: value is required"
                )));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// Apply `ops` to `resource` (canonical JSON of resource type `rt`).
pub fn apply(resource: &Value, ops: &[Operation], rt: &ResourceType) -> ScimResult<Value> {
    let mut res = resource.clone();
    if !res.is_object() {
        return Err(ScimError::invalid_syntax("the resource is not an object"));
    }
    for op in ops {
        match &op.path {
            Some(path) => apply_path(&mut res, op.op, path, op.value.as_ref(), rt, false)?,
            None => {
                if op.op == Op::Remove {
                    return Err(ScimError::no_target("remove needs a path"));
                }
                let Some(Value::Object(values)) = &op.value else {
                    return Err(ScimError::invalid_value("value must be an object"));
                };
                for (key, value) in values {
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    apply_path(&mut res, op.op, key, Some(value), rt, true)?;
                }
            }
        }
    }
    tidy(&mut res, rt);
    Ok(res)
}

/// Remove the elements at `matches` (indexes into `items`).
fn drop_matched(items: &mut Vec<Value>, matches: &[usize]) {
    let mut i = 0;
    items.retain(|_| {
        let keep = !matches.contains(&i);
        i += 1;
        keep
    });
}

/// Every path inside a value filter names a sub-attribute of `attr` (`value` for a simple
/// multi-valued one): an unknown one is `invalidPath`, as the GET filter refuses it.
fn check_element_paths(f: &Filter, attr: &Attribute, path: &str) -> ScimResult<()> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_element_paths(a, attr, path)?;
            check_element_paths(b, attr, path)
        }
        Filter::Not(a) => check_element_paths(a, attr, path),
        Filter::ValuePath(..) => Err(ScimError::invalid_path(format!(
            "value filters do not nest (in {path:?})"
        ))),
        Filter::Present(p) | Filter::Compare(p, _, _) => {
            let known = if attr.ty == AttrType::Complex {
                attr.sub(&p.name).is_some()
            } else {
                p.name.eq_ignore_ascii_case("value")
            };
            if known && p.urn.is_none() && p.sub.is_none() {
                Ok(())
            } else {
                Err(ScimError::invalid_path(format!(
                    "{} has no sub-attribute {:?} (in {path:?})",
                    attr.name, p.name
                )))
            }
        }
    }
}

/// Drop empty extension objects and keep `schemas` in step with the extensions present (an
/// extension attribute added by PATCH adds its URN): the registered ones in their order,
/// then those kept unregistered.
fn tidy(res: &mut Value, rt: &ResourceType) {
    let obj = res.as_object_mut().expect("object");
    let mut schemas = vec![Value::String(rt.schema.to_string())];
    let urns: Vec<String> = obj
        .keys()
        .filter(|k| normalize::is_urn(k) && rt.extension(k).is_none())
        .cloned()
        .collect();
    let registered = rt.extensions.iter().map(|e| e.urn().to_string());
    for urn in registered.chain(urns) {
        match obj.get(&urn) {
            Some(Value::Object(m)) if !m.is_empty() => schemas.push(Value::String(urn)),
            Some(_) => {
                obj.remove(&urn);
            }
            None => {}
        }
    }
    obj.insert("schemas".into(), Value::Array(schemas));
}

/// A path into an extension the organization has not registered: the whole URN, or a flat
/// `urn:…:attr`. `None` when `path` is not one. Which of the two it is cannot be told from
/// a schema: a URN the resource already keeps, or one given an object, is the whole
/// extension; otherwise the last segment is an attribute of the rest.
fn unknown_path<'p>(
    rt: &ResourceType,
    res: &Value,
    path: &'p str,
    value: Option<&Value>,
) -> Option<(&'p str, Option<&'p str>)> {
    if !normalize::is_urn(path)
        || rt.schema_of(path).is_some()
        || path.contains(['[', ']', '"', ' '])
    {
        return None;
    }
    let kept = |urn: &str| {
        res.as_object()
            .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(urn)))
    };
    let split = path.rsplit_once(':');
    if let Some((urn, _)) = split {
        if rt.schema_of(urn).is_some() {
            return None; // a registered schema's attribute
        }
    }
    let whole = Some((path, None)).filter(|_| valid_urn(path));
    if kept(path) || matches!(value, Some(Value::Object(_))) {
        return whole;
    }
    match split {
        Some((urn, name)) if valid_urn(urn) && valid_name(name) => Some((urn, Some(name))),
        // Not an extension's path at all: the path parser says why (invalidPath).
        _ => whole,
    }
}

/// PATCH on an unregistered extension, by `rt.unknown`: kept as sent, ignored, or refused.
fn apply_unknown(
    res: &mut Value,
    op: Op,
    (urn, name): (&str, Option<&str>),
    value: Option<&Value>,
    rt: &ResourceType,
    pathless: bool,
) -> ScimResult<()> {
    match rt.unknown {
        Unknown::Ignore => return Ok(()),
        Unknown::Reject if pathless => {
            return Err(ScimError::invalid_value(format!(
                "{urn} is not a schema extension of {} here: register it first",
                rt.name
            )))
        }
        Unknown::Reject => {
            return Err(ScimError::invalid_path(format!(
                "{urn} is not a schema extension of {} here: register it first",
                rt.name
            )))
        }
        Unknown::Keep => {}
    }
    let obj = res.as_object_mut().expect("object");
    // An existing key of another case is the same extension.
    let key = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case(urn))
        .cloned()
        .unwrap_or_else(|| urn.to_string());
    match (op, name, value) {
        (Op::Remove, None, _) | (_, None, Some(Value::Null) | None) => {
            obj.remove(&key);
        }
        (Op::Remove, Some(n), _) | (_, Some(n), Some(Value::Null) | None) => {
            if let Some(Value::Object(m)) = obj.get_mut(&key) {
                m.remove(n);
            }
        }
        (_, None, Some(Value::Object(members))) => {
            let slot = obj
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                for (k, v) in members {
                    if v.is_null() {
                        m.remove(k);
                    } else {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (_, None, Some(_)) => {
            return Err(ScimError::invalid_value(format!("{urn} must be an object")));
        }
        (_, Some(n), Some(v)) => {
            let slot = obj
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                m.insert(n.to_string(), v.clone());
            }
        }
    }
    let size = obj.get(&key).map(|v| v.to_string().len()).unwrap_or(0);
    if size > normalize::MAX_UNKNOWN_EXTENSION_BYTES {
        return Err(ScimError::invalid_value(format!(
            "{urn} is not registered here and would hold {size} bytes; at most {} of an \
             unregistered extension are kept",
            normalize::MAX_UNKNOWN_EXTENSION_BYTES
        )));
    }
    Ok(())
}

fn container<'a>(
    res: &'a mut Value,
    ext: Option<&str>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let root = res.as_object_mut()?;
    match ext {
        None => Some(root),
        Some(e) => {
            if create && !root.contains_key(e) {
                root.insert(e.to_string(), Value::Object(Map::new()));
            }
            root.get_mut(e)?.as_object_mut()
        }
    }
}

fn apply_path(
    res: &mut Value,
    op: Op,
    path: &str,
    value: Option<&Value>,
    rt: &ResourceType,
    pathless: bool,
) -> ScimResult<()> {
    if let Some(target) = unknown_path(rt, res, path.trim(), value) {
        return apply_unknown(res, op, target, value, rt, pathless);
    }
    // The whole extension object.
    if let Some(ext) = rt.extension_urn(path.trim()) {
        return match op {
            Op::Remove => {
                if let Some(obj) = res.as_object_mut() {
                    obj.remove(ext);
                }
                Ok(())
            }
            _ => match value {
                Some(Value::Object(m)) => {
                    // Inside the object, as in a path-less value: unknown and read-only
                    // members (a `schemas` echoed back) are ignored.
                    for (k, v) in m {
                        if k.eq_ignore_ascii_case("schemas") {
                            continue;
                        }
                        apply_path(res, op, &format!("{ext}:{k}"), Some(v), rt, true)?;
                    }
                    Ok(())
                }
                Some(Value::Null) | None => {
                    if let Some(obj) = res.as_object_mut() {
                        obj.remove(ext);
                    }
                    Ok(())
                }
                Some(_) => Err(ScimError::invalid_value(format!("{ext} must be an object"))),
            },
        };
    }
    let parsed = match PatchPath::parse(path) {
        Ok(parsed) => parsed,
        // A key of a path-less value that is no attribute name at all (`"日本"`, `"a b"`) is
        // an unknown attribute like any other (T10), as it is in a POST body.
        Err(_) if pathless => return Ok(()),
        Err(e) => {
            return Err(ScimError::invalid_path(format!(
                "invalid path {path:?} at position {}: {}",
                e.position, e.message
            )))
        }
    };
    let Some(resolved) = rt.resolve(parsed.attr.urn.as_deref(), &parsed.attr.name) else {
        if pathless {
            return Ok(()); // unknown attribute in a path-less value: ignored (T10)
        }
        return Err(ScimError::invalid_path(format!(
            "unknown attribute in path {path:?}"
        )));
    };
    let attr = resolved.attr;
    if attr.mutability == Mutability::ReadOnly {
        if pathless {
            return Ok(()); // T6: Okta's path-less replace carries id
        }
        return Err(ScimError::mutability(format!("{} is read-only", attr.name)));
    }
    let ext = resolved.extension();
    let sub_name = parsed.attr.sub.clone().or(parsed.sub.clone());
    let sub = match &sub_name {
        Some(s) => Some(attr.sub(s).ok_or_else(|| {
            ScimError::invalid_path(format!("{} has no sub-attribute {s:?}", attr.name))
        })?),
        None => None,
    };
    if let Some(s) = sub {
        if s.mutability == Mutability::ReadOnly {
            if pathless {
                return Ok(());
            }
            return Err(ScimError::mutability(format!(
                "{}.{} is read-only",
                attr.name, s.name
            )));
        }
    }
    let before = container(res, ext, false).and_then(|c| c.get(&attr.name).cloned());

    match (&parsed.filter, sub) {
        (Some(filter), sub) => {
            if !attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "{} is not multi-valued; a value filter does not apply",
                    attr.name
                )));
            }
            let lookup = JsonLookup { rt };
            let apath = AttrPath {
                urn: None,
                name: attr.name.clone(),
                sub: None,
            };
            super::lookup::check_operators(filter, rt, Some(&apath))?;
            check_element_paths(filter, attr, path)?;
            let c = container(res, ext, op != Op::Remove);
            let Some(c) = c else { return Ok(()) };
            let mut items: Vec<Value> = match c.get(&attr.name) {
                Some(Value::Array(a)) => a.clone(),
                _ => vec![],
            };
            let matches: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, e)| evaluate(filter, e, &lookup, Some(&apath)))
                .map(|(i, _)| i)
                .collect();
            match op {
                Op::Remove => match sub {
                    Some(s) => {
                        for &i in &matches {
                            if let Some(o) = items[i].as_object_mut() {
                                o.remove(&s.name);
                            }
                        }
                    }
                    None => {
                        drop_matched(&mut items, &matches);
                    }
                },
                Op::Replace | Op::Add => {
                    if matches.is_empty() && op == Op::Replace {
                        return Err(ScimError::no_target(format!(
                            "no value of {} matches the filter in {path:?}",
                            attr.name
                        )));
                    }
                    let v = value.unwrap_or(&Value::Null);
                    match sub {
                        Some(s) => {
                            if s.mutability == Mutability::Immutable && op == Op::Replace {
                                return Err(ScimError::mutability(format!(
                                    "{}.{} is immutable",
                                    attr.name, s.name
                                )));
                            }
                            let coerced = super::normalize::coerce_scalar(v, s)?;
                            if matches.is_empty() {
                                // T15 / erratum 8097: create the element the filter describes.
                                let mut seed = seed_from_filter(filter, attr);
                                if let Some(cv) = coerced {
                                    seed.insert(s.name.clone(), cv);
                                }
                                items.push(Value::Object(seed));
                            } else {
                                for &i in &matches {
                                    if let Some(o) = items[i].as_object_mut() {
                                        match &coerced {
                                            Some(cv) => {
                                                o.insert(s.name.clone(), cv.clone());
                                            }
                                            None => {
                                                o.remove(&s.name);
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        // A simple multi-valued attribute: the matched elements are replaced
                        // (`add` with none matched appends the value).
                        None if attr.ty != AttrType::Complex => {
                            let coerced = coerce_single(v, attr)?;
                            match coerced {
                                None => {
                                    drop_matched(&mut items, &matches);
                                }
                                Some(nv) if matches.is_empty() => items.push(nv),
                                Some(nv) => {
                                    for &i in &matches {
                                        items[i] = nv.clone();
                                    }
                                }
                            }
                        }
                        None => {
                            let coerced = coerce_single(v, attr)?;
                            let Some(Value::Object(newv)) = coerced else {
                                if coerced.is_none() {
                                    // Clearing matched elements = removing them.
                                    drop_matched(&mut items, &matches);
                                    set_items(c, attr, items);
                                    fix_primary(res, ext, attr, before.as_ref());
                                    return Ok(());
                                }
                                return Err(ScimError::invalid_value(format!(
                                    "{} values are objects",
                                    attr.name
                                )));
                            };
                            if matches.is_empty() {
                                let mut seed = seed_from_filter(filter, attr);
                                seed.extend(newv);
                                items.push(Value::Object(seed));
                            } else {
                                for &i in &matches {
                                    if op == Op::Replace {
                                        items[i] = Value::Object(newv.clone());
                                    } else if let Some(o) = items[i].as_object_mut() {
                                        o.extend(newv.clone());
                                    }
                                }
                            }
                        }
                    }
                }
            }
            set_items(c, attr, items);
        }
        (None, Some(s)) => {
            // `name.givenName`, `manager.value`, `emails.display`.
            let v = value.unwrap_or(&Value::Null);
            let coerced = if op == Op::Remove {
                None
            } else {
                super::normalize::coerce_scalar(v, s)?
            };
            let Some(c) = container(res, ext, op != Op::Remove) else {
                return Ok(());
            };
            if attr.multi_valued {
                if let Some(Value::Array(items)) = c.get_mut(&attr.name) {
                    for e in items.iter_mut() {
                        if let Some(o) = e.as_object_mut() {
                            match &coerced {
                                Some(cv) => {
                                    o.insert(s.name.clone(), cv.clone());
                                }
                                None => {
                                    o.remove(&s.name);
                                }
                            }
                        }
                    }
                }
            } else {
                let entry = c
                    .entry(attr.name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(o) = entry.as_object_mut() {
                    match coerced {
                        Some(cv) => {
                            o.insert(s.name.clone(), cv);
                        }
                        None => {
                            o.remove(&s.name);
                        }
                    }
                    if o.is_empty() {
                        c.remove(&attr.name);
                    }
                }
            }
        }
        (None, None) => {
            let Some(c) = container(res, ext, op != Op::Remove) else {
                return Ok(());
            };
            match op {
                Op::Remove => {
                    if attr.required {
                        return Err(ScimError::mutability(format!(
                            "{} is required and cannot be removed",
                            attr.name
                        )));
                    }
                    match value {
                        // T3: remove + path "members" + value [{value}] removes those.
                        Some(v) if attr.multi_valued && !v.is_null() => {
                            let gone = coerce(v, attr)?.unwrap_or(Value::Array(vec![]));
                            let gone = gone.as_array().cloned().unwrap_or_default();
                            if let Some(Value::Array(items)) = c.get_mut(&attr.name) {
                                items.retain(|e| !gone.iter().any(|g| same_value(e, g, attr)));
                                if items.is_empty() {
                                    c.remove(&attr.name);
                                }
                            }
                        }
                        _ => {
                            c.remove(&attr.name);
                        }
                    }
                }
                Op::Add | Op::Replace => {
                    let coerced = coerce(value.unwrap_or(&Value::Null), attr)?;
                    match coerced {
                        None => {
                            // T8: "" and null clear — except that adding nothing to a list is nothing.
                            if !(attr.multi_valued && op == Op::Add) {
                                if attr.required {
                                    return Err(ScimError::mutability(format!(
                                        "{} is required and cannot be cleared",
                                        attr.name
                                    )));
                                }
                                c.remove(&attr.name);
                            }
                        }
                        Some(Value::Array(new_items)) if op == Op::Add => {
                            let mut items = match c.get(&attr.name) {
                                Some(Value::Array(a)) => a.clone(),
                                _ => vec![],
                            };
                            for n in new_items {
                                // T14: a value already there is no change.
                                match items.iter_mut().find(|e| same_value(e, &n, attr)) {
                                    Some(existing) => {
                                        if let (Some(eo), Value::Object(no)) =
                                            (existing.as_object_mut(), &n)
                                        {
                                            for (k, v) in no {
                                                eo.insert(k.clone(), v.clone());
                                            }
                                        }
                                    }
                                    None => items.push(n),
                                }
                            }
                            set_items(c, attr, items);
                        }
                        Some(Value::Object(new_obj))
                            if attr.ty == AttrType::Complex && !attr.multi_valued =>
                        {
                            // Sub-attributes given replace, others stay (add and replace alike).
                            let entry = c
                                .entry(attr.name.clone())
                                .or_insert_with(|| Value::Object(Map::new()));
                            if !entry.is_object() {
                                *entry = Value::Object(Map::new());
                            }
                            if let Some(o) = entry.as_object_mut() {
                                o.extend(new_obj);
                            }
                        }
                        Some(v) => {
                            if attr.mutability == Mutability::Immutable {
                                if let Some(old) = c.get(&attr.name) {
                                    if *old != v {
                                        return Err(ScimError::mutability(format!(
                                            "{} is immutable",
                                            attr.name
                                        )));
                                    }
                                }
                            }
                            c.insert(attr.name.clone(), v);
                        }
                    }
                }
            }
        }
    }
    fix_primary(res, ext, attr, before.as_ref());
    Ok(())
}

fn set_items(c: &mut Map<String, Value>, attr: &Attribute, items: Vec<Value>) {
    if items.is_empty() {
        c.remove(&attr.name);
    } else {
        c.insert(attr.name.clone(), Value::Array(items));
    }
}

/// Two elements of a multi-valued attribute are the same value when their `value` (and
/// `type`, when both have one) agree; elements without `value` compare whole.
fn same_value(a: &Value, b: &Value, attr: &Attribute) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => {
            let case_exact =
                attr.sub("value").is_some_and(|s| s.case_exact) || attr.name == "members";
            let eq = match (x.as_str(), y.as_str()) {
                (Some(x), Some(y)) if !case_exact => x.eq_ignore_ascii_case(y),
                _ => x == y,
            };
            let types_agree = match (a.get("type"), b.get("type")) {
                (Some(t), Some(u)) if attr.name != "members" => t == u,
                _ => true,
            };
            eq && types_agree
        }
        _ => a == b,
    }
}

/// The element a value filter describes: its `eq` terms joined by `and`.
fn seed_from_filter(f: &Filter, attr: &Attribute) -> Map<String, Value> {
    let mut m = Map::new();
    fn walk(f: &Filter, attr: &Attribute, m: &mut Map<String, Value>) {
        match f {
            Filter::And(a, b) => {
                walk(a, attr, m);
                walk(b, attr, m);
            }
            Filter::Compare(p, CompareOp::Eq, v) => {
                if let Some(sub) = attr.sub(&p.name) {
                    let json = match v {
                        CompValue::String(s) => Value::String(s.clone()),
                        CompValue::Bool(b) => Value::Bool(*b),
                        // A string sub-attribute takes the token as written.
                        CompValue::Number(_, token) if sub.ty == AttrType::String => {
                            Value::String(token.clone())
                        }
                        CompValue::Number(n, _) => serde_json::Number::from_f64(*n)
                            .map(Value::Number)
                            .unwrap_or(Value::Null),
                        CompValue::Null => Value::Null,
                    };
                    if let Ok(Some(v)) = super::normalize::coerce_scalar(&json, sub) {
                        m.insert(sub.name.clone(), v);
                    }
                }
            }
            _ => {}
        }
    }
    walk(f, attr, &mut m);
    m
}

/// At most one `primary: true` per attribute: a value just made primary wins over the old
/// primary (RFC 7644 §3.5.2: the others SHALL become false).
fn fix_primary(res: &mut Value, ext: Option<&str>, attr: &Attribute, before: Option<&Value>) {
    if !attr.multi_valued || attr.sub("primary").is_none() {
        return;
    }
    let Some(c) = container(res, ext, false) else {
        return;
    };
    let Some(Value::Array(items)) = c.get_mut(&attr.name) else {
        return;
    };
    let is_primary = |e: &Value| e.get("primary") == Some(&Value::Bool(true));
    let primaries: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| is_primary(e))
        .map(|(i, _)| i)
        .collect();
    if primaries.len() <= 1 {
        return;
    }
    let old: Vec<&Value> = before
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|e| is_primary(e)).collect())
        .unwrap_or_default();
    let fresh: Vec<usize> = primaries
        .iter()
        .copied()
        .filter(|&i| !old.contains(&&items[i]))
        .collect();
    let keep = fresh
        .last()
        .copied()
        .unwrap_or(primaries[primaries.len() - 1]);
    for i in primaries {
        if i != keep {
            if let Some(o) = items[i].as_object_mut() {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
