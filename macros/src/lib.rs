//! `#[mlflow_tracing::trace]`: the Rust counterpart of MLflow's `@mlflow.trace` decorator.
//! Use it through the `mlflow-tracing` crate, which documents it.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, Expr, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Token, Type};

/// Arguments of `#[trace(...)]`.
#[derive(Default)]
struct Args {
    name: Option<LitStr>,
    span_type: Option<Expr>,
    skip: Vec<Ident>,
    skip_all: bool,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "name" => {
                    input.parse::<Token![=]>()?;
                    args.name = Some(input.parse()?);
                }
                "span_type" => {
                    input.parse::<Token![=]>()?;
                    args.span_type = Some(input.parse()?);
                }
                "skip" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                    args.skip.extend(names);
                }
                "skip_all" => args.skip_all = true,
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown #[trace] argument `{other}`; expected `name = \"..\"`, \
                             `span_type = ..`, `skip(arg, ..)` or `skip_all`"
                        ),
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// Traces a function as an MLflow span. See `mlflow_tracing::trace` for the documentation.
#[proc_macro_attribute]
pub fn trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(attr as Args);
    let func = parse_macro_input!(item as ItemFn);
    match expand(args, func) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(args: Args, func: ItemFn) -> syn::Result<TokenStream2> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let fn_name = sig.ident.to_string();
    let name = args
        .name
        .map(|n| n.value())
        .unwrap_or_else(|| fn_name.clone());
    let span_type = args
        .span_type
        .map(ToTokens::into_token_stream)
        .unwrap_or_else(|| quote!(::mlflow_tracing::SpanType::Unknown));

    let mut inputs = Vec::new();
    for arg in &sig.inputs {
        let FnArg::Typed(typed) = arg else { continue }; // `self` is not recorded
        let Pat::Ident(pat) = &*typed.pat else {
            continue;
        }; // destructured: skipped
        let ident = &pat.ident;
        if args.skip_all || args.skip.iter().any(|s| s == ident) {
            continue;
        }
        let key = ident.to_string().trim_start_matches("r#").to_owned();
        inputs.push(quote! {
            if let ::core::option::Option::Some(v) =
                (&&::mlflow_tracing::__private::Wrap(&#ident)).__mlflow_input()
            {
                __mlflow_inputs.insert(#key.to_owned(), v);
            }
        });
    }
    for skipped in &args.skip {
        let known = sig.inputs.iter().any(|arg| match arg {
            FnArg::Typed(t) => matches!(&*t.pat, Pat::Ident(p) if &p.ident == skipped),
            FnArg::Receiver(_) => false,
        });
        if !known {
            return Err(syn::Error::new(
                skipped.span(),
                format!("`skip({skipped})`: the function has no parameter `{skipped}`"),
            ));
        }
    }

    // Annotating the result helps inference with `?` unless the type is an `impl Trait`.
    let result_ty: Option<Type> = match &sig.output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => Some((**ty).clone()),
        _ => None,
    };
    let annotation = result_ty.as_ref().map(|ty| quote!(: #ty));
    let run = if sig.asyncness.is_some() {
        quote!(__mlflow_span.instrument(async move #block).await)
    } else {
        let closure_ret = result_ty.as_ref().map(|ty| quote!(-> #ty));
        quote!(__mlflow_span.in_scope(move || #closure_ret #block))
    };

    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let __mlflow_span = ::mlflow_tracing::__private::start(
                #name,
                #span_type,
                #fn_name,
                || {
                    #[allow(unused_imports)]
                    use ::mlflow_tracing::__private::{InputOpaque as _, InputSerialize as _};
                    #[allow(unused_mut)]
                    let mut __mlflow_inputs = ::mlflow_tracing::__private::Map::new();
                    #(#inputs)*
                    __mlflow_inputs
                },
            );
            #[allow(clippy::redundant_closure_call)]
            let __mlflow_result #annotation = #run;
            {
                #[allow(unused_imports)]
                use ::mlflow_tracing::__private::{
                    RecordNothing as _, RecordResultDebug as _, RecordResultDisplay as _,
                    RecordSerialize as _,
                };
                (&&&&::mlflow_tracing::__private::Wrap(&__mlflow_result))
                    .__mlflow_record(&__mlflow_span);
            }
            __mlflow_result
        }
    })
}

fn contains_impl_trait(ty: &Type) -> bool {
    fn scan(tokens: TokenStream2) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "impl",
            proc_macro2::TokenTree::Group(g) => scan(g.stream()),
            _ => false,
        })
    }
    scan(ty.to_token_stream())
}
