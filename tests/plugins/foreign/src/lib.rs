//! A component of another world: `plugin check` and the loader must refuse it.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        inline: "
            package test:foreign@1.0.0;
            world foreign {
                export run: func() -> string;
            }
        ",
    });

    struct Foreign;

    impl Guest for Foreign {
        fn run() -> String {
            "not a channel plugin".to_string()
        }
    }

    export!(Foreign);
}
