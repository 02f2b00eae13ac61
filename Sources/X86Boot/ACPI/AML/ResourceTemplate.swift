/// `ResourceTemplate() { … }`: a Buffer holding resource descriptors and the end tag, the
/// value of a `_CRS` name.
public enum ResourceTemplate {
    public static func buffer(_ descriptors: [ResourceDescriptor]) throws(FirmwareTableError) -> AMLTerm {
        let endTag = ResourceDescriptor.endTag(closing: descriptors)
        return try AMLTerm.buffer((descriptors + [endTag]).flatMap(\.bytes))
    }
}
