"""Field type modules; each registers its types with forms.dynamic.registry on import."""
