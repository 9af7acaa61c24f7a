//! The value model: an archive's typed groups, with Foundation objects recognised.

/// Byte order of the numbers in a stream, named by the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    /// Signature `streamtyped` (what Intel and Apple Silicon Macs write).
    #[default]
    Little,
    /// Signature `typedstream` (PowerPC Macs and NeXTSTEP).
    Big,
}

/// Number of an object in the archive: objects are numbered 0, 1, 2, … in the order their
/// literal form appears in the stream (classes and C strings are not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A whole typedstream: header facts and the top-level typed groups.
///
/// An archive made by `NSArchiver.archivedData(withRootObject:)` holds one group with one `@`
/// value, the root object; [`Archive::root`] returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// Byte order of the stream.
    pub byte_order: ByteOrder,
    /// The system version from the header (Apple writes 1000).
    pub system_version: i64,
    /// The top-level typed groups, in stream order.
    pub groups: Vec<Group>,
}

/// The system version Apple's NSArchiver writes.
pub const APPLE_SYSTEM_VERSION: i64 = 1000;

impl Archive {
    /// An archive with one root object, laid out as Apple's NSArchiver does on a Mac
    /// (little-endian, system version 1000).
    #[must_use]
    pub fn with_root(root: Value) -> Self {
        Archive {
            byte_order: ByteOrder::Little,
            system_version: APPLE_SYSTEM_VERSION,
            groups: vec![Group::new("@", vec![root])],
        }
    }

    /// The root value: the first value of the first group.
    #[must_use]
    pub fn root(&self) -> Option<&Value> {
        self.groups.first().and_then(|g| g.values.first())
    }

    /// Mutable access to the root value.
    pub fn root_mut(&mut self) -> Option<&mut Value> {
        self.groups.first_mut().and_then(|g| g.values.first_mut())
    }

    /// The root object, if the root value is a (literal) object.
    #[must_use]
    pub fn root_object(&self) -> Option<&Object> {
        self.root().and_then(Value::as_object)
    }

    /// Every literal object in the archive, indexed by [`ObjectId`].
    #[must_use]
    pub fn objects(&self) -> Vec<&Object> {
        let mut out = Vec::new();
        for g in &self.groups {
            for v in &g.values {
                collect_objects(v, &mut out);
            }
        }
        out
    }

    /// The object a value stands for: the object itself, or the object a [`Value::Ref`] points
    /// to. `None` for nil and non-object values.
    #[must_use]
    pub fn resolve<'a>(&'a self, value: &'a Value) -> Option<&'a Object> {
        match value {
            Value::Object(o) => Some(o),
            Value::Ref(id) => {
                let idx = usize::try_from(id.0).ok()?;
                self.objects().get(idx).copied()
            }
            _ => None,
        }
    }

    /// For a dictionary object: the value of the first entry whose key is an NSString equal to
    /// `key`, following back-references in keys (unlike [`Object::get`]).
    #[must_use]
    pub fn lookup<'a>(&'a self, dict: &'a Object, key: &str) -> Option<&'a Value> {
        dict.as_dictionary()?
            .iter()
            .find_map(|(k, v)| (self.resolve(k).and_then(Object::as_str) == Some(key)).then_some(v))
    }
}

fn collect_objects<'a>(v: &'a Value, out: &mut Vec<&'a Object>) {
    match v {
        Value::Object(o) => {
            out.push(o);
            for child in o.content.children() {
                collect_objects(child, out);
            }
        }
        Value::Array(items) | Value::Struct(items) => {
            for i in items {
                collect_objects(i, out);
            }
        }
        _ => {}
    }
}

/// A typed group: a type-encoding string and one value per type in it.
///
/// `-[NSArchiver encodeValueOfObjCType:at:]` writes a group of one value;
/// `encodeValuesOfObjCTypes:` writes several types under one encoding string.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The encoding string, for example `"@"`, `"i"`, `"[296c]"` or `"ii@"`.
    pub encoding: String,
    /// One value per type of the encoding.
    pub values: Vec<Value>,
}

impl Group {
    /// A group from its encoding and values.
    #[must_use]
    pub fn new(encoding: impl Into<String>, values: Vec<Value>) -> Self {
        Group {
            encoding: encoding.into(),
            values,
        }
    }
}

/// One value, of the type its group's encoding gives it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// nil: an object (`@`), class (`#`), C string (`*`), string (`+`, `%`, `:`) that is not
    /// there, or the nothing stored for an ignored field (`!`).
    Nil,
    /// A signed integer: `c` (raw byte), `s`, `i`, `l`, `q`. Read into the type's width,
    /// as NSUnarchiver stores it into the C variable.
    Int(i64),
    /// An unsigned integer: `C` (raw byte), `S`, `I`, `L`, `Q`.
    UInt(u64),
    /// `B`: a C99 bool.
    Bool(bool),
    /// `f`.
    Float(f32),
    /// `d`.
    Double(f64),
    /// `*`: a C string (without its NUL).
    CString(Vec<u8>),
    /// `%`: an atom (a uniqued string).
    Atom(Vec<u8>),
    /// `:`: a selector name.
    Selector(Vec<u8>),
    /// `+`: an unshared string (the payload of NSString).
    Unshared(Vec<u8>),
    /// `#`: a class.
    Class(Class),
    /// `@`: an object, stored here where the stream holds it literally.
    Object(Box<Object>),
    /// `@`: a back-reference to an object stored literally earlier (or still being stored,
    /// for cycles).
    Ref(ObjectId),
    /// `[N type]` with elements other than `c`/`C`.
    Array(Vec<Value>),
    /// `[Nc]` or `[NC]`: raw bytes.
    ByteArray(Vec<u8>),
    /// `{name=types}`: the fields in order.
    Struct(Vec<Value>),
}

impl Value {
    /// Wraps an object.
    #[must_use]
    pub fn object(o: Object) -> Self {
        Value::Object(Box::new(o))
    }

    /// The object, if this is a literal object.
    #[must_use]
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Mutable access to the object, if this is a literal object.
    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The integer, if this is an integer or bool that fits `i64`.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }

    /// The number as a float, for integers and floats.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f64::from(f)),
            Value::Double(d) => Some(d),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(i as f64),
            #[allow(clippy::cast_precision_loss)]
            Value::UInt(u) => Some(u as f64),
            _ => None,
        }
    }

    /// A short name of the variant, for messages.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Bool(_) => "bool",
            Value::Float(_) => "float",
            Value::Double(_) => "double",
            Value::CString(_) => "C string",
            Value::Atom(_) => "atom",
            Value::Selector(_) => "selector",
            Value::Unshared(_) => "unshared string",
            Value::Class(_) => "class",
            Value::Object(_) => "object",
            Value::Ref(_) => "object reference",
            Value::Array(_) => "array",
            Value::ByteArray(_) => "byte array",
            Value::Struct(_) => "struct",
        }
    }
}

/// One class of a class chain: its name and the version it was archived with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassInfo {
    /// The class name, e.g. `NSMutableDictionary`.
    pub name: String,
    /// The class version (`+[NSObject version]` at archiving time).
    pub version: i64,
}

impl ClassInfo {
    /// A class name with its version.
    #[must_use]
    pub fn new(name: impl Into<String>, version: i64) -> Self {
        ClassInfo {
            name: name.into(),
            version,
        }
    }
}

/// A class as archived: the class and its superclasses, most derived first, each with its
/// version (`NSMutableString v1, NSString v1, NSObject v0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Class {
    /// The chain, most derived first, root class last. Never empty in a decoded archive.
    pub chain: Vec<ClassInfo>,
}

impl Class {
    /// A class from `(name, version)` pairs, most derived first.
    #[must_use]
    pub fn new<'a>(chain: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        Class {
            chain: chain
                .into_iter()
                .map(|(n, v)| ClassInfo::new(n, v))
                .collect(),
        }
    }

    /// The most derived class's name (empty if the chain is empty).
    #[must_use]
    pub fn name(&self) -> &str {
        self.chain.first().map_or("", |c| c.name.as_str())
    }

    /// Whether `name` is this class or one of its superclasses.
    #[must_use]
    pub fn is_kind_of(&self, name: &str) -> bool {
        self.chain.iter().any(|c| c.name == name)
    }

    /// `NSString v1, NSObject v0`.
    #[must_use]
    pub fn ns_string() -> Self {
        Class::new([("NSString", 1), ("NSObject", 0)])
    }

    /// `NSMutableString v1, NSString v1, NSObject v0`.
    #[must_use]
    pub fn ns_mutable_string() -> Self {
        Class::new([("NSMutableString", 1), ("NSString", 1), ("NSObject", 0)])
    }

    /// `NSNumber v0, NSValue v0, NSObject v0`.
    #[must_use]
    pub fn ns_number() -> Self {
        Class::new([("NSNumber", 0), ("NSValue", 0), ("NSObject", 0)])
    }

    /// `NSValue v0, NSObject v0`.
    #[must_use]
    pub fn ns_value() -> Self {
        Class::new([("NSValue", 0), ("NSObject", 0)])
    }

    /// `NSData v0, NSObject v0`.
    #[must_use]
    pub fn ns_data() -> Self {
        Class::new([("NSData", 0), ("NSObject", 0)])
    }

    /// `NSMutableData v0, NSData v0, NSObject v0`.
    #[must_use]
    pub fn ns_mutable_data() -> Self {
        Class::new([("NSMutableData", 0), ("NSData", 0), ("NSObject", 0)])
    }

    /// `NSDictionary v0, NSObject v0`.
    #[must_use]
    pub fn ns_dictionary() -> Self {
        Class::new([("NSDictionary", 0), ("NSObject", 0)])
    }

    /// `NSMutableDictionary v0, NSDictionary v0, NSObject v0`.
    #[must_use]
    pub fn ns_mutable_dictionary() -> Self {
        Class::new([
            ("NSMutableDictionary", 0),
            ("NSDictionary", 0),
            ("NSObject", 0),
        ])
    }

    /// `NSArray v0, NSObject v0`.
    #[must_use]
    pub fn ns_array() -> Self {
        Class::new([("NSArray", 0), ("NSObject", 0)])
    }

    /// `NSMutableArray v0, NSArray v0, NSObject v0`.
    #[must_use]
    pub fn ns_mutable_array() -> Self {
        Class::new([("NSMutableArray", 0), ("NSArray", 0), ("NSObject", 0)])
    }

    /// `NSDate v0, NSObject v0`.
    #[must_use]
    pub fn ns_date() -> Self {
        Class::new([("NSDate", 0), ("NSObject", 0)])
    }
}

/// An archived object: its class chain and what it stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The class chain with versions, as archived.
    pub class: Class,
    /// The contents, recognised as a Foundation value where the class and the stored groups
    /// match one.
    pub content: Content,
}

/// What an object stored.
///
/// The Foundation variants are recognised when the most derived class is the Foundation class
/// (or its mutable subclass) and the stored groups have exactly the layout that class writes;
/// encoding them writes that layout again. Anything else stays [`Content::Groups`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// NSString / NSMutableString: one `+` group of UTF-8.
    String(String),
    /// NSNumber: a `*` group with the Objective-C type, then one group of that type.
    Number {
        /// The Objective-C type encoding (`i`, `q`, `d`, `c`, …).
        objc_type: String,
        /// The number, of that type.
        value: Value,
    },
    /// NSValue (not NSNumber): like NSNumber, for any type (points, rects, ranges, …).
    Value {
        /// The Objective-C type encoding.
        objc_type: String,
        /// The value, of that type.
        value: Value,
    },
    /// NSData / NSMutableData: an `i` length group, then a `[Nc]` group.
    Data(Vec<u8>),
    /// NSDictionary / NSMutableDictionary: an `i` count, then an `@` group for each key and
    /// each value, in stored (hash) order. Entries are `@` values: objects, refs or nil.
    Dictionary(Vec<(Value, Value)>),
    /// NSArray / NSMutableArray: an `i` count, then an `@` group for each element.
    Array(Vec<Value>),
    /// NSDate: one `d` group, seconds since 2001-01-01 00:00:00 UTC.
    Date(f64),
    /// Any other object: its typed groups as stored.
    Groups(Vec<Group>),
}

impl Content {
    /// The values this content holds directly (for walking the object graph).
    pub(crate) fn children(&self) -> Vec<&Value> {
        match self {
            Content::Number { value, .. } | Content::Value { value, .. } => vec![value],
            Content::Dictionary(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
            Content::Array(items) => items.iter().collect(),
            Content::Groups(groups) => groups.iter().flat_map(|g| g.values.iter()).collect(),
            Content::String(_) | Content::Data(_) | Content::Date(_) => Vec::new(),
        }
    }
}

impl Object {
    /// An object of a class with the given content.
    #[must_use]
    pub fn new(class: Class, content: Content) -> Self {
        Object { class, content }
    }

    /// An NSString.
    #[must_use]
    pub fn ns_string(s: impl Into<String>) -> Self {
        Object::new(Class::ns_string(), Content::String(s.into()))
    }

    /// An NSNumber holding an `int` (type `i`).
    #[must_use]
    pub fn ns_number_i32(v: i32) -> Self {
        Object::new(
            Class::ns_number(),
            Content::Number {
                objc_type: "i".into(),
                value: Value::Int(v.into()),
            },
        )
    }

    /// An NSNumber holding a `long long` (type `q`, what modern Foundation uses for integers).
    #[must_use]
    pub fn ns_number_i64(v: i64) -> Self {
        Object::new(
            Class::ns_number(),
            Content::Number {
                objc_type: "q".into(),
                value: Value::Int(v),
            },
        )
    }

    /// An NSNumber holding a `double` (type `d`).
    #[must_use]
    pub fn ns_number_f64(v: f64) -> Self {
        Object::new(
            Class::ns_number(),
            Content::Number {
                objc_type: "d".into(),
                value: Value::Double(v),
            },
        )
    }

    /// An NSData.
    #[must_use]
    pub fn ns_data(bytes: impl Into<Vec<u8>>) -> Self {
        Object::new(Class::ns_data(), Content::Data(bytes.into()))
    }

    /// An NSDictionary with entries in the given order.
    #[must_use]
    pub fn ns_dictionary(entries: Vec<(Value, Value)>) -> Self {
        Object::new(Class::ns_dictionary(), Content::Dictionary(entries))
    }

    /// An NSMutableDictionary with entries in the given order.
    #[must_use]
    pub fn ns_mutable_dictionary(entries: Vec<(Value, Value)>) -> Self {
        Object::new(Class::ns_mutable_dictionary(), Content::Dictionary(entries))
    }

    /// An NSArray.
    #[must_use]
    pub fn ns_array(items: Vec<Value>) -> Self {
        Object::new(Class::ns_array(), Content::Array(items))
    }

    /// An NSDate, in seconds since 2001-01-01 00:00:00 UTC.
    #[must_use]
    pub fn ns_date(seconds: f64) -> Self {
        Object::new(Class::ns_date(), Content::Date(seconds))
    }

    /// The string, for NSString objects.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.content {
            Content::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, for NSData objects.
    #[must_use]
    pub fn as_data(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Data(d) => Some(d),
            _ => None,
        }
    }

    /// The number value, for NSNumber objects.
    #[must_use]
    pub fn as_number(&self) -> Option<&Value> {
        match &self.content {
            Content::Number { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The entries, for NSDictionary objects.
    #[must_use]
    pub fn as_dictionary(&self) -> Option<&[(Value, Value)]> {
        match &self.content {
            Content::Dictionary(e) => Some(e),
            _ => None,
        }
    }

    /// The elements, for NSArray objects.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Value]> {
        match &self.content {
            Content::Array(e) => Some(e),
            _ => None,
        }
    }

    /// For a dictionary: the value of the first entry whose key is a literal NSString equal to
    /// `key`. (Keys stored as back-references are not compared; use [`Archive::resolve`].)
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dictionary()?
            .iter()
            .find_map(|(k, v)| (k.as_object().and_then(Object::as_str) == Some(key)).then_some(v))
    }

    /// Mutable access to a dictionary value by NSString key, like [`Object::get`].
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match &mut self.content {
            Content::Dictionary(entries) => entries.iter_mut().find_map(|(k, v)| {
                (k.as_object().and_then(Object::as_str) == Some(key)).then_some(v)
            }),
            _ => None,
        }
    }
}
